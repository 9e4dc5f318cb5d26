"""``mambaboot shell ENV``: a fresh child shell with the environment active.

The child shell sources the environment's own portable ``activate.*`` script,
so ``shell`` and manual activation can never disagree, and packages'
activate.d scripts run in the real shell as conda runs them. Nothing is
installed into the user's shell: bash gets ``--rcfile``, zsh a private
``ZDOTDIR``, fish ``--init-command``, cmd.exe ``/D /K`` (AutoRun skipped) and
PowerShell ``-NoExit -NoProfile``. The user's own startup files are read only
with ``--rc``. The small startup files live in ``PREFIX/.mambaboot/`` (never in
a global temp dir) and are removed when the shell exits. Exiting the child
leaves the parent exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from mambaboot.activation.cleanenv import require_clean_shell, tool_free
from mambaboot.activation.quoting import fish_quote, sh_quote
from mambaboot.errors import ActiveEnvironmentError, UsageError
from mambaboot.fsutil import remove_tree
from mambaboot.platforms import IS_WINDOWS
from mambaboot.prefix import require_env

SHELLS = ("cmd", "powershell", "bash", "zsh", "fish")
_ALIASES = {"pwsh": "powershell", "cmd.exe": "cmd", "powershell.exe": "powershell"}


def detect_shell(environ: Mapping[str, str] | None = None) -> str:
    """The shell we were started from (shellingham), else the platform default."""
    env = os.environ if environ is None else environ
    try:
        import shellingham

        name = shellingham.detect_shell()[0].lower()
    except (ImportError, RuntimeError, OSError):  # shellingham.ShellDetectionFailure
        name = "cmd" if IS_WINDOWS else Path(env.get("SHELL", "bash")).name
    name = _ALIASES.get(name, name)
    return name if name in SHELLS else ("cmd" if IS_WINDOWS else "bash")


def refuse_nesting(environ: Mapping[str, str] | None = None) -> None:
    """One environment per shell: never nest, never switch."""
    env = os.environ if environ is None else environ
    if env.get("MAMBABOOT_ENV"):
        raise ActiveEnvironmentError(
            f"This shell is already inside the environment {env['MAMBABOOT_ENV']}; "
            "type 'exit' to leave it first (mambaboot never nests or switches environments).")
    require_clean_shell(env)


@dataclass(frozen=True)
class Launch:
    argv: list[str] | str  # a string only for cmd.exe, whose quoting is its own
    env: dict[str, str]


def build(shell: str, prefix: Path, workdir: Path, *, rc: bool = False,
          environ: Mapping[str, str] | None = None, interactive: bool = True) -> Launch:
    """The command line and environment that start ``shell`` inside ``prefix``.

    ``interactive=False`` (stdin is a pipe or file, e.g. ``echo cmd | mambaboot
    shell ENV``): the POSIX shells read their commands from stdin without ``-i``,
    which would only print job-control warnings ("no job control in this shell").
    """
    env = tool_free(environ)
    exe = _find(shell)
    piped = None if interactive else _piped(shell, exe, prefix)
    if piped is not None:
        return Launch(piped, env)
    if shell == "bash":
        rcfile = workdir / "bashrc"
        user = '[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"\n' if rc else ""
        rcfile.write_text(user + f". {sh_quote(str(prefix / 'activate.sh'))}\n", "utf-8")
        return Launch([exe, "--rcfile", str(rcfile), "-i"], env)
    if shell == "zsh":
        user_dir = env.get("ZDOTDIR") or env.get("HOME", "")
        restore = (f"ZDOTDIR={sh_quote(env['ZDOTDIR'])}\n" if env.get("ZDOTDIR")
                   else "unset ZDOTDIR\n")
        user = (f"[ -f {sh_quote(user_dir + '/.zshrc')} ] && "
                f". {sh_quote(user_dir + '/.zshrc')}\n") if rc else ""
        (workdir / ".zshrc").write_text(
            restore + user + f". {sh_quote(str(prefix / 'activate.sh'))}\n", "utf-8")
        env["ZDOTDIR"] = str(workdir)
        return Launch([exe, "-i"] + ([] if rc else ["--no-globalrcs"]), env)
    if shell == "fish":
        init = f"source {fish_quote(str(prefix / 'activate.fish'))}"
        return Launch([exe, "-i", *([] if rc else ["--no-config"]), "--init-command", init], env)
    if shell == "cmd":
        # /D skips AutoRun; the path travels in a variable so no character in it
        # (& ^ % ...) is ever parsed by cmd.exe.
        env["_MAMBABOOT_ACTIVATE"] = str(prefix / "activate.bat")
        return Launch(f'"{exe}" /D /V:OFF /K call "%_MAMBABOOT_ACTIVATE%"', env)
    if shell == "powershell":
        script = str(prefix / "activate.ps1").replace("'", "''")
        return Launch([exe, "-NoLogo", "-NoExit", *([] if rc else ["-NoProfile"]),
                       "-ExecutionPolicy", "Bypass", "-Command", f". '{script}'"], env)
    raise UsageError(f"Unknown shell {shell!r}; choose one of: {', '.join(SHELLS)}.")


def _piped(shell: str, exe: str, prefix: Path) -> list[str] | None:
    """A POSIX shell reading commands from stdin, activated, without job control."""
    if shell in ("bash", "zsh"):
        # $0 is a label: activate.sh refuses to run when $0 is itself (not sourced).
        # The commands are sourced into the same shell (not exec'd into a new one), so
        # the functions activate.sh defines (deactivate, the conda guard) stay.
        return [exe, "-c", '. "$1" && . /dev/stdin', "mambaboot-shell",
                str(prefix / "activate.sh")]
    if shell == "fish":
        return [exe, "--no-config", "--init-command",
                f"source {fish_quote(str(prefix / 'activate.fish'))}"]
    return None  # cmd.exe and PowerShell read piped commands as they are


def _find(shell: str) -> str:
    names = {"powershell": ("pwsh", "powershell"), "cmd": ("cmd",)}.get(shell, (shell,))
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise UsageError(f"The shell {shell!r} is not installed (looked for {', '.join(names)} on "
                     "PATH); install it or pick another with --shell.")


def _ignore(signum: int, frame: object) -> None:
    """A no-op handler, not SIG_IGN: an ignored signal would stay ignored in the child."""


@contextlib.contextmanager
def _workdir(prefix: Path) -> Iterator[Path]:
    folder = prefix / ".mambaboot" / f"shell-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    finally:
        remove_tree(folder)


def start(env_path: Path, shell: str | None = None, *, rc: bool = False,
          announce: Callable[[Path], None] | None = None) -> int:
    """Run the child shell until the user exits it; return its exit code.

    ``announce`` is called once everything is checked and the shell is about to
    start, so "entering ..." is never printed before a refusal.
    """
    refuse_nesting()
    prefix = require_env(env_path)
    chosen = shell or detect_shell()
    with _workdir(prefix.path) as workdir:
        launch = build(chosen, prefix.path, workdir, rc=rc,
                       interactive=sys.stdin is not None and sys.stdin.isatty())
        if announce is not None:
            announce(prefix.path)
        # The terminal sends Ctrl-C to the whole process group: the shell handles it,
        # we just keep waiting.
        previous = signal.signal(signal.SIGINT, _ignore)
        try:
            return subprocess.run(launch.argv, env=launch.env, check=False).returncode
        finally:
            signal.signal(signal.SIGINT, previous)
