"""This machine's platform, named once: ``IS_WINDOWS`` and its conda subdir.

Imported by the ``run`` path, so it stays standard-library only and cheap
(``platform`` is imported only when the subdir is asked for).
"""

from __future__ import annotations

import sys

IS_WINDOWS = sys.platform == "win32"
#: File systems that compare names case-folded (and, on macOS, Unicode-normalised).
CASE_INSENSITIVE = sys.platform in ("darwin", "win32")

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
