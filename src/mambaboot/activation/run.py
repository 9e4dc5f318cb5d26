"""``mambaboot run ENV -- COMMAND``: one command with the environment applied.

This is the hot path (a user may call it thousands of times from scripts), so
it reads the stored activation and hands over (measuring the packages'
activate.d scripts first when that was not done yet, or ``conda-meta`` changed
since: see ``activation.activate_d``): ``execve`` on POSIX, so the
command *becomes* this process (signals, stdin/stdout/stderr and the exit code
are its own, nothing is buffered); on Windows, where exec is an emulation that
breaks console handling, a child process whose exit code is returned. Only the
standard library and small mambaboot modules are imported: never the engine
or rich.
"""

from __future__ import annotations

import os
import sys
from collections import namedtuple

from mambaboot.activation import env_delta, fresh
from mambaboot.activation.cleanenv import require_clean_shell, tool_free
from mambaboot.platforms import IS_WINDOWS
from mambaboot.prefix import check_env

TYPE_CHECKING = False  # typing, pathlib and the error classes only when needed
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from mambaboot.activation.env_delta import StrPath


class Plan(namedtuple("_Plan", "executable argv env")):
    """What ``run`` will execute: the resolved program, its argv and environment."""

    __slots__ = ()
    executable: str
    argv: tuple[str, ...]
    env: dict[str, str]


def which(command: str, path: str) -> str | None:
    """``shutil.which`` without importing shutil (bz2, lzma, fnmatch: ~4 ms of start-up)."""
    if os.path.dirname(command):
        candidates = [command]
    else:
        candidates = [os.path.join(d, command) for d in path.split(os.pathsep) if d]
    exts = [""]
    if IS_WINDOWS:  # pragma: no cover - exercised on Windows only
        pathext = os.environ.get("PATHEXT", ".COM;.EXE;.BAT;.CMD").lower().split(";")
        exts = [""] if command.lower().endswith(tuple(pathext)) else pathext
    for candidate in candidates:
        for ext in exts:
            full = candidate + ext
            if os.path.isfile(full) and os.access(full, os.X_OK):
                return full
    return None


def plan(env_path: StrPath, argv: Sequence[str],
         environ: Mapping[str, str] | None = None) -> Plan:
    """Validate the environment and find the program, without running anything."""
    if not argv:
        from mambaboot.errors import UsageError  # the error path only: run stays light

        raise UsageError("No command given; use 'mambaboot run ENV -- COMMAND [ARGS...]'.")
    require_clean_shell(environ)
    check_env(env_path)
    prefix = os.fspath(env_path)
    activation = fresh.measured(prefix)
    env = env_delta.apply(activation, prefix, tool_free(environ))
    path_value = next((v for k, v in env.items() if k.upper() == "PATH"), "")
    found = which(argv[0], path_value)
    if found is None:
        from mambaboot.errors import CommandNotFoundError
        from mambaboot.platforms import for_shell

        dirs = ", ".join(p or "." for p in activation.path)
        raise CommandNotFoundError(
            f"'{argv[0]}' was not found in {prefix} ({dirs}) nor on the inherited PATH; "
            f"install it into the environment (mambaboot run {for_shell(prefix)} -- "
            "mamba install ...) or check the spelling.")
    result = Plan(found, tuple(argv), env)
    if found.startswith(prefix + os.sep):
        _refuse_stale_interpreter(result)  # a trampoline's sh would exec and fail vaguely
    return result


def execute(p: Plan) -> int:
    """Run the plan. On POSIX this does not return unless exec itself fails."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        if not IS_WINDOWS:
            os.execve(p.executable, list(p.argv), p.env)  # noqa: S606 - exec is the point
        return _child(p)  # pragma: no cover - Windows
    except OSError as exc:
        _refuse_stale_interpreter(p)
        from mambaboot.errors import CommandNotRunnableError

        raise CommandNotRunnableError(
            f"'{p.argv[0]}' ({p.executable}) could not be started: {exc.strerror or exc}; "
            "check that it is an executable for this platform.") from exc


def _refuse_stale_interpreter(p: Plan) -> None:
    """Say so when a script's interpreter is gone because the prefix was moved.

    Entry points carry the absolute path of their python, either as ``#!PATH``
    or, when that path has spaces, in conda's ``/bin/sh`` trampoline (a second
    line ``'''exec' "PATH" "$0" "$@"``). After a move the kernel or sh reports
    only "No such file or directory", which points at the wrong file.
    """
    try:
        with open(p.executable, "rb") as fh:
            head = fh.read(1024).split(b"\n")[:2]
    except OSError:
        return
    if not head or not head[0].startswith(b"#!"):
        return
    words = head[0][2:].strip().split()
    interpreter = os.fsdecode(words[0]) if words else ""
    trampoline = b"'''exec' \""
    if interpreter in ("/bin/sh", "/usr/bin/env") and len(head) > 1 and head[1].startswith(
            trampoline):
        interpreter = os.fsdecode(head[1][len(trampoline):].split(b'"', 1)[0])
    if not interpreter or os.path.exists(interpreter):
        return
    from mambaboot.errors import CommandNotRunnableError

    raise CommandNotRunnableError(
        f"'{p.argv[0]}' ({p.executable}) starts {interpreter}, which does not exist: the "
        "environment was moved or copied after it was made; run it through python "
        f"('mambaboot run ENV -- python -m {os.path.basename(p.executable)}') or recreate the "
        "environment at its new place (mambaboot create NAME --from-lock "
        "ENV/.mambaboot/lock.yml).")


def _child(p: Plan) -> int:  # pragma: no cover - exercised on Windows
    import signal
    import subprocess

    # Ctrl-C goes to the whole console: let the child decide, and wait for it.
    previous = signal.signal(signal.SIGINT, lambda *_: None)  # not SIG_IGN: inherited
    try:
        return subprocess.run([p.executable, *p.argv[1:]], env=p.env, check=False).returncode
    finally:
        signal.signal(signal.SIGINT, previous)


def run(env_path: StrPath, argv: Sequence[str]) -> int:
    return execute(plan(env_path, argv))
