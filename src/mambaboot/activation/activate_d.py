"""Measure what the packages' ``etc/conda/activate.d`` scripts do to the environment.

A package such as a compiler or GDAL ships activate.d scripts that export
variables; ``run`` must see the same result the portable scripts produce.
Interpreting shell code ourselves would be wrong in corner cases, so the
scripts run in the real shell (``sh``-family on POSIX, cmd.exe on Windows)
with the base activation applied, and the environment before and after is
diffed. The result is stored with the prefix replaced by the token.

These scripts are package code. They run only when the user enters the
environment (``run`` measures them; ``create`` never does), and measuring is
fenced in because a script can hang or start background processes:

* each script runs in its own shell, in a new session (its own process
  group), with stdin closed and its output sent to our stderr (never to the
  stdout of the command ``run`` is about to start);
* each script gets ``MAMBABOOT_ACTIVATE_TIMEOUT`` seconds (default 30); on
  timeout the whole group is killed and ``run`` stops with one sentence naming
  the script (``ActivateScriptTimeoutError``, exit 1);
* after every script, successful or not, the group is killed, so nothing a
  script left running in the background outlives the measurement. On Linux,
  processes that left the group (``setsid``) are found by a marker variable
  in their environment and killed too;
* a script that ends its shell (``exit``, a fatal syntax error) is skipped
  with one warning line naming it; the other scripts' effects are kept. The
  status of a script's last command is ignored, as conda ignores it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from mambaboot.activation.cleanenv import scrubbed_environ, tool_free
from mambaboot.activation.env_delta import IS_WINDOWS, PREFIX_TOKEN, Activation, apply
from mambaboot.errors import ActivateScriptTimeoutError, MambabootError, UsageError

TIMEOUT_VAR = "MAMBABOOT_ACTIVATE_TIMEOUT"
#: Seconds each activate.d script may take while ``run`` measures it.
DEFAULT_TIMEOUT = 30.0
#: Set (to a random token) in every measuring shell, so leftovers can be found.
MARKER_VAR = "_MAMBABOOT_MEASURING"
_OUT_VAR = "_MAMBABOOT_MEASURE_OUT"
_SCRIPT_VAR = "_MAMBABOOT_MEASURE_SCRIPT"
_OURS = frozenset({MARKER_VAR, _OUT_VAR, _SCRIPT_VAR})
#: Variables every shell touches by itself; a change in them is not the package's doing.
NOISE = frozenset({"_", "SHLVL", "PWD", "OLDPWD", "LC_CTYPE", "PROMPT", "PATH", "CMDCMDLINE",
                   "ERRORLEVEL", "=EXITCODE", "__CF_USER_TEXT_ENCODING", *_OURS})
_DUMP = ("import json, os, sys\n"
         "with open(sys.argv[1], 'w', encoding='utf-8') as f: json.dump(dict(os.environ), f)")
# Source one script with no arguments, then dump the result with our own
# interpreter in isolated mode (-I), so a PYTHONHOME set by a script cannot
# break the dump. Everything the script prints goes to stderr.
_POSIX_CODE = ('__mb_py=$1; __mb_dump=$2; __mb_out=$3; __mb_f=$4; shift 4; exec 1>&2; '
               '. "$__mb_f"; exec "$__mb_py" -I -c "$__mb_dump" "$__mb_out"')


class _ScriptFailed(Exception):
    """Internal: the script ended its shell (never reaches a user: measure() warns instead)."""


def scripts(prefix: Path, windows: bool = IS_WINDOWS) -> list[Path]:
    """The activate.d scripts conda would run for this platform, in conda's (sorted) order."""
    folder = prefix / "etc" / "conda" / "activate.d"
    suffix = ".bat" if windows else ".sh"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == suffix and p.is_file())


def timeout(environ: Mapping[str, str] | None = None) -> float:
    """Seconds per script: ``MAMBABOOT_ACTIVATE_TIMEOUT``, else ``DEFAULT_TIMEOUT``."""
    env = os.environ if environ is None else environ
    raw = env.get(TIMEOUT_VAR, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e6:
        raise UsageError(f"{TIMEOUT_VAR}={raw!r} is not a number of seconds; set it to a "
                         f"positive number such as 30, or unset it for the default "
                         f"({DEFAULT_TIMEOUT:g} s).")
    return value


def measure(prefix: Path, activation: Activation) -> Activation:
    """``activation`` plus the effects of the activate.d scripts, marked measured.

    Raises ``ActivateScriptTimeoutError`` when a script does not finish in time
    (nothing is stored then, so the next ``run`` tries again).
    """
    found = scripts(prefix)
    if not found:
        return activation._replace(measured=True)
    limit = timeout()
    before = apply(activation, prefix, scrubbed_environ(tool_free()))
    env = before
    for script in found:
        try:
            env = run_script(script, env, limit)
        except _ScriptFailed as failed:
            sys.stderr.write(f"mambaboot: warning: the activate.d script {script} {failed}; "
                             "what it sets is left out (fix or remove that package).\n")
            sys.stderr.flush()
        except TimeoutError:
            raise ActivateScriptTimeoutError(
                f"The activate.d script {script}{_owner(prefix, script)} did not finish within "
                f"{limit:g} s and was stopped with every process it started; fix or remove "
                f"that package, or allow more time with {TIMEOUT_VAR}=SECONDS.") from None
    return diff(activation, prefix, before, env)._replace(measured=True)


def run_script(script: Path, env: dict[str, str], limit: float) -> dict[str, str]:
    """The environment after sourcing ``script`` in ``env``; nothing it started survives.

    Raises ``TimeoutError`` after ``limit`` seconds and ``_ScriptFailed`` when the
    script ended its shell; the script's process group is killed in every case.
    """
    token = secrets.token_hex(8)
    try:
        fd, out_name = tempfile.mkstemp(prefix="mambaboot-activate-", suffix=".json")
    except OSError as exc:
        raise MambabootError(
            f"Could not create a temporary file to measure the activate.d script {script} "
            f"({exc.strerror or exc}); point TMPDIR at a writable folder and try again.") from exc
    os.close(fd)
    out = Path(out_name)
    child_env = {**env, MARKER_VAR: token}
    try:
        # sys.platform (not IS_WINDOWS) so the type checker knows the branch's platform
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            child_env.update({_OUT_VAR: str(out), _SCRIPT_VAR: str(script)})
            argv: list[str] | str = (f'cmd /D /V:OFF /U /C "call "%{_SCRIPT_VAR}%" 1>&2 & '
                                     f'set > "%{_OUT_VAR}%""')
            kw: dict[str, object] = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        else:
            shell = shutil.which("bash") or "/bin/sh"
            argv = [shell, "-c", _POSIX_CODE, "sh", sys.executable, _DUMP, str(out), str(script)]
            kw = {"start_new_session": True}
        stderr = sys.stderr.fileno() if _usable(sys.stderr) else subprocess.DEVNULL
        # call-overload: no Popen overload takes a **dict[str, object] (kw above is one flag)
        proc = subprocess.Popen(argv, env=child_env, stdin=subprocess.DEVNULL,
                                stdout=stderr, stderr=stderr, **kw)  # type: ignore[call-overload]
        try:
            code = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            raise TimeoutError(script) from None
        finally:
            _kill_group(proc, token)
        text = out.read_bytes()
    finally:
        out.unlink(missing_ok=True)
    after = _parse(text)
    if after is None:
        raise _ScriptFailed(f"ended its shell (exit {code})" if code else "ended its shell")
    return {k: v for k, v in after.items() if k not in _OURS}


def _usable(stream: object) -> bool:
    try:
        stream.fileno()  # type: ignore[attr-defined]  # None under pythonw: AttributeError
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _parse(raw: bytes) -> dict[str, str] | None:
    if IS_WINDOWS:  # pragma: no cover - cmd /U writes UTF-16, so non-ASCII values survive
        return parse_set_output(raw.decode("utf-16-le", errors="replace")) or None
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _kill_group(proc: subprocess.Popen[bytes], token: str) -> None:
    """Kill the measuring process group (and, on Linux, anything carrying our token)."""
    if sys.platform == "win32":  # pragma: no cover - Windows: the process tree, by taskkill
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(proc.pid)], capture_output=True,
                       check=False)
    else:
        with contextlib.suppress(ProcessLookupError, PermissionError):  # already empty
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    _sweep(token)


def _sweep(token: str) -> None:
    """Linux: kill our own processes whose environment carries ``token`` (left the group)."""
    proc_dir = Path("/proc")
    if not sys.platform.startswith("linux") or not proc_dir.is_dir():
        return
    needle = f"{MARKER_VAR}={token}".encode()
    me, uid = os.getpid(), os.getuid()
    for entry in os.scandir(proc_dir):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            environ = Path(entry.path, "environ").read_bytes()
        except OSError:
            continue  # gone, or not ours to read
        if needle in environ.split(b"\0"):
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)


def _owner(prefix: Path, script: Path) -> str:
    """`` (from package NAME-VERSION-BUILD)`` when a conda-meta record lists the script."""
    try:
        rel = script.relative_to(prefix).as_posix()
        records = sorted((prefix / "conda-meta").glob("*.json"))
    except (ValueError, OSError):
        return ""
    for record in records:
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
            if rel in data.get("files", ()):
                return f" (from package {data['name']}-{data['version']}-{data['build']})"
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return ""


def parse_set_output(text: str) -> dict[str, str]:
    """Parse cmd.exe's ``set`` listing (``NAME=value`` per line)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name:
            out[name] = value
    return out


def tokenize(value: str, prefix: Path) -> str:
    """Replace the prefix in a value by the token (case-insensitively on Windows)."""
    flags = re.IGNORECASE if IS_WINDOWS else 0
    return re.sub(re.escape(str(prefix)), lambda _m: PREFIX_TOKEN, value, flags=flags)


def diff(activation: Activation, prefix: Path, before: Mapping[str, str],
         after: Mapping[str, str]) -> Activation:
    """What changed between ``before`` and ``after``, relative to the prefix."""
    norm = (lambda k: k.upper()) if IS_WINDOWS else (lambda k: k)
    old = {norm(k): v for k, v in before.items()}
    new = {norm(k): (k, v) for k, v in after.items()}
    scripted = {k: tokenize(v, prefix) for nk, (k, v) in new.items()
                if nk not in NOISE and old.get(nk) != v and v != activation.variables.get(k)}
    unset = tuple(sorted(k for k in before if norm(k) not in new and norm(k) not in NOISE))
    old_path = set(old.get("PATH", "").split(os.pathsep))
    new_path = new.get("PATH", ("PATH", ""))[1].split(os.pathsep)
    extra = tuple(tokenize(p, prefix) for p in new_path if p and p not in old_path)
    return activation._replace(scripted=scripted, unset=tuple(unset), extra_path=tuple(extra))
