"""Per-environment locks in the root, released by the OS when a process dies.

Two creates of one name must not interleave (mamba#1429-style corruption);
an advisory OS lock needs no stale-lock cleanup after a crash or SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from mambaboot.errors import BusyError

LOCK_DIR = ".mambaboot-locks"


def lock_path(prefix: Path) -> Path:
    return prefix.parent / LOCK_DIR / f"{prefix.name}.lock"


@contextlib.contextmanager
def env_lock(prefix: Path, action: str = "create") -> Iterator[None]:
    """Hold an exclusive, non-blocking lock on ``prefix`` for the duration."""
    path = lock_path(prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            _lock(fd)
        except OSError:
            raise BusyError(
                f"Another mambaboot process is working on {prefix} right now; "
                f"wait for it to finish, then {action} again."
            ) from None
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
