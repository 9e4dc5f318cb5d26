"""Locks the OS releases when a process dies, and folders a failed create takes back.

Two creates of one name must not interleave (mamba#1429-style corruption);
an advisory OS lock needs no stale-lock cleanup after a crash or SIGKILL.

Nothing here may outlive its use: a per-environment lock file is deleted by
its holder on release (and ``.mambaboot-locks/`` with the last one), and a
create that fails removes the root and cache folders it made itself, so a
failed first create leaves the root as it found it. Deleting a lock file
that others may have opened is made safe by the usual protocol: whoever gets
the lock checks that the file it locked is still the one at the path, and
starts over if it is not.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mambaboot.errors import BusyError
from mambaboot.locations import Cache, check_layout, fs_error, require_cache_dirs, require_root_dir

LOCK_DIR = ".mambaboot-locks"
#: In the cache: every create holds it shared, so a failed one that made the cache
#: can tell whether anyone else started using it before taking it back.
IN_USE = ".mambaboot-in-use.lock"


def lock_path(prefix: Path) -> Path:
    return prefix.parent / LOCK_DIR / f"{prefix.name}.lock"


@contextlib.contextmanager
def env_lock(prefix: Path, action: str = "create") -> Iterator[None]:
    """Hold an exclusive, non-blocking lock on ``prefix`` for the duration."""
    path = lock_path(prefix)
    try:
        fd = _open_locked(path, exclusive=True)
    except BlockingIOError:
        raise BusyError(
            f"Another mambaboot process is working on {prefix} right now; "
            f"wait for it to finish, then {action} again."
        ) from None
    except OSError as exc:
        raise fs_error(exc, "environments root", prefix.parent) from exc
    try:
        yield
    finally:
        _release(fd, path, remove=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only when no other lock file is in it


def _open_locked(path: Path, *, exclusive: bool) -> int:
    """Open (creating) and lock ``path``; exclusive never waits, shared does.

    Retries when the file was deleted (or its folder removed) by a holder
    between our open and our lock: the lock we got is then on a dead file.
    """
    while True:
        path.parent.mkdir(exist_ok=True)  # never the root itself: a missing root is an error
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            continue  # the folder was removed by a releasing holder just now
        try:
            if exclusive:
                _lock(fd)
            else:
                _lock_shared(fd)
            if _same_file(fd, path):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _release(fd: int, path: Path, *, remove: bool) -> None:
    """Unlock and close; with ``remove``, delete the file first, while still holding it."""
    try:
        if remove and sys.platform != "win32":  # Windows cannot delete an open file
            with contextlib.suppress(OSError):
                path.unlink()
        _unlock(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def create_workspace(prefix: Path, cache: Cache) -> Iterator[None]:
    """Check and make the root and cache for a create; take back what we made on failure.

    Every problem with the two folders (a file in the way, read-only, overlap)
    is one sentence here, before the engine runs, instead of an engine error
    or a traceback halfway through.
    """
    root = prefix.parent
    require_root_dir(root, must_exist=False)
    require_cache_dirs(cache)
    check_layout(root, cache, prefix)
    made_root = _make_dir(root, "environments root")
    try:
        _probe_writable(root, "environments root")
        with claimed_dir(cache.root, "cache"):
            _make_dir(cache.pkgs, "package cache")
            _probe_writable(cache.pkgs, "package cache")
            yield
    except BaseException:
        _remove_empty(made_root, root)
        raise


@contextlib.contextmanager
def claimed_dir(path: Path, what: str = "cache") -> Iterator[None]:
    """Use the folder ``path`` (made if missing); if we made it and fail, remove it.

    The folder holds an in-use lock that every user holds shared: it is
    removed only when the failing creator can take that lock exclusively (no
    one else is in it), and never when the error names a file inside it (the
    micromamba log, for one), which the user is about to open.
    """
    made = _make_dir(path, what)
    lock = path / IN_USE
    try:
        _probe_writable(path, what)
        fd = _open_locked(lock, exclusive=False)
    except BaseException as exc:
        _remove_empty(made, path)
        if isinstance(exc, OSError):
            raise fs_error(exc, what, path) from exc
        raise
    try:
        yield
    except BaseException as exc:
        if made is not None and str(path) not in str(getattr(exc, "message", "")):
            _take_back(fd, lock, made, path)
            fd = -1
        raise
    finally:
        if fd != -1:
            _release(fd, lock, remove=False)


def _take_back(fd: int, lock: Path, made: Path, path: Path) -> None:
    """Remove the folder this run made, unless another process holds it too."""
    from mambaboot.fsutil import discard_tree

    try:
        if sys.platform == "win32":  # pragma: no cover - no shared locks: keep the folder
            return
        try:
            _lock(fd)  # shared -> exclusive, without waiting: fails if anyone else uses it
        except OSError:
            return
        discard_tree(path)  # however deep a refused package's staging folder nested
        _remove_empty(made, path.parent)
    finally:
        with contextlib.suppress(OSError):
            _unlock(fd)
        os.close(fd)


def _make_dir(path: Path, what: str) -> Path | None:
    """``mkdir -p path``; return the topmost folder it created (None if it existed)."""
    missing = None
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            break
        missing = candidate
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fs_error(exc, what, path) from exc
    return missing


def _remove_empty(made: Path | None, start: Path) -> None:
    """rmdir ``start`` and its parents up to ``made``, stopping at the first non-empty one."""
    if made is None:
        return
    for folder in (start, *start.parents):
        if folder != made and made not in folder.parents:
            return
        try:
            folder.rmdir()
        except OSError:
            return
        if folder == made:
            return


def _probe_writable(path: Path, what: str) -> None:
    """Create and delete a file in ``path``: the only test that sees read-only mounts,
    immutable folders and permissions alike (``os.access`` is fooled by root)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".mambaboot-probe-", dir=path)
    except OSError as exc:
        raise fs_error(exc, what, path) from exc
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            raise BlockingIOError(str(exc)) from exc

    def _lock_shared(fd: int) -> None:
        """msvcrt has no shared lock: the in-use check is skipped on Windows."""

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _lock_shared(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_SH)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

