"""Measure what the packages' ``etc/conda/activate.d`` scripts do to the environment.

A package such as a compiler or GDAL ships activate.d scripts that export
variables; ``run`` and ``shell`` must see the same result the portable scripts
produce. Interpreting shell code ourselves would be wrong in corner cases, so
the scripts run in the real shell (``sh``-family on POSIX, cmd.exe on
Windows) with the base activation applied, and the environment before and
after is diffed. The result is stored with the prefix replaced by the token.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from mambaboot.activation.env_delta import IS_WINDOWS, PREFIX_TOKEN, Activation, apply
from mambaboot.cleanenv import scrubbed_environ

TIMEOUT = 60
#: Variables every shell touches by itself; a change in them is not the package's doing.
NOISE = frozenset({"_", "SHLVL", "PWD", "OLDPWD", "LC_CTYPE", "PROMPT", "PATH", "CMDCMDLINE",
                   "ERRORLEVEL", "=EXITCODE", "__CF_USER_TEXT_ENCODING"})
_DUMP = "import json, os, sys; sys.stdout.write(json.dumps(dict(os.environ)))"


def scripts(prefix: Path, windows: bool = IS_WINDOWS) -> list[Path]:
    """The activate.d scripts conda would run for this platform, in conda's (sorted) order."""
    folder = prefix / "etc" / "conda" / "activate.d"
    suffix = ".bat" if windows else ".sh"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == suffix and p.is_file())


def measure(prefix: Path, activation: Activation) -> Activation:
    """``activation`` plus the effects of the activate.d scripts (unchanged when none)."""
    found = scripts(prefix)
    if not found:
        return activation
    before = apply(activation, prefix, scrubbed_environ())
    after = _run_windows(found, before) if IS_WINDOWS else _run_posix(found, before)
    return diff(activation, prefix, before, after)


def _run_posix(found: list[Path], env: dict[str, str]) -> dict[str, str]:
    shell = shutil.which("bash") or "/bin/sh"
    # Source each script, then dump the result with our own interpreter in
    # isolated mode (-I), so a PYTHONHOME set by a script cannot break the dump.
    code = ('__mb_py=$1; __mb_dump=$2; shift 2; for __mb_f in "$@"; do . "$__mb_f"; done; '
            'exec "$__mb_py" -I -c "$__mb_dump"')
    proc = subprocess.run([shell, "-c", code, "sh", sys.executable, _DUMP, *map(str, found)],
                          env=env, capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL, check=False)
    if proc.returncode != 0:
        return env  # a broken script must not make the environment unusable
    after: dict[str, str] = json.loads(proc.stdout)
    return after


def _run_windows(found: list[Path], env: dict[str, str]) -> dict[str, str]:  # pragma: no cover
    # cmd /U writes the output of `set` as UTF-16, so non-ASCII values survive.
    calls = " & ".join(f'call "{p}"' for p in found)
    proc = subprocess.run(f'cmd /D /V:OFF /U /C "{calls} & set"', env=env, capture_output=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL, check=False)
    if proc.returncode != 0:
        return env
    return parse_set_output(proc.stdout.decode("utf-16-le", errors="replace"))


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
