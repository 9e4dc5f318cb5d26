"""This machine's platform, named once: ``IS_WINDOWS``, its conda subdir, its shell's quoting.

Imported by the ``run`` path, so it stays standard-library only and cheap
(``platform`` and ``shlex`` are imported only when asked for).

``for_shell`` quotes paths printed inside commands the user may paste: a root
like ``envs with space`` or a cache under ``C:\\Users\\Jo & Co`` would otherwise
turn "Enter it with: mambaboot shell PATH" into a command that does something
else when pasted.
"""

from __future__ import annotations

import os
import sys

IS_WINDOWS = sys.platform == "win32"
#: File systems that compare names case-folded (and, on macOS, Unicode-normalised).
CASE_INSENSITIVE = sys.platform in ("darwin", "win32")



def is_link(path: str | os.PathLike[str]) -> bool:
    """True for symlinks and for Windows directory junctions (never follows either)."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if st.st_mode & 0o170000 == 0o120000:  # S_ISLNK, without importing stat
        return True
    # a junction is a reparse point that lstat does not report as a link before 3.12
    return IS_WINDOWS and bool(getattr(st, "st_file_attributes", 0) & 0x400)


_SYSTEMS = {"linux": "linux", "darwin": "osx", "win32": "win"}
_MACHINES = {"x86_64": "64", "amd64": "64", "i386": "32", "i686": "32",
             "aarch64": "aarch64", "arm64": "arm64"}


def current_subdir(system: str | None = None, machine: str | None = None) -> str:
    """The conda subdir (``linux-64``, ``osx-arm64``, ``win-64`` ...) of this machine.

    ``system``/``machine`` default to ``sys.platform``/``platform.machine()``;
    passing them names another machine (tests, ``micromamba fetch --platform``).
    """
    if machine is None:
        import platform

        machine = platform.machine()
    system = sys.platform if system is None else system
    os_name = _SYSTEMS.get(system, system)
    arch = _MACHINES.get(machine.lower(), machine.lower())
    if os_name == "osx" and arch == "aarch64":
        arch = "arm64"   # conda calls Apple silicon osx-arm64
    if os_name == "linux" and arch == "arm64":
        arch = "aarch64"  # and 64-bit ARM Linux linux-aarch64
    return f"{os_name}-{arch}"


#: Characters after which cmd.exe needs the word in double quotes.
_CMD_SPECIAL = set(' \t&|<>^()%!",;=')


def for_shell(text: str | os.PathLike[str], windows: bool | None = None) -> str:
    """``text`` as one word of a command line in the user's shell (cmd.exe on Windows)."""
    word = os.fspath(text)
    if windows is None:
        windows = IS_WINDOWS
    if windows:
        return f'"{word}"' if any(c in _CMD_SPECIAL for c in word) or not word else word
    import shlex

    return shlex.quote(word)
