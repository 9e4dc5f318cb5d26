"""File-system helpers that never follow links out of the tree they work on.

conda#9755 deleted terabytes through a junction during remove: here every
walker treats symlinks and Windows junctions as leaves to unlink, never as
directories to enter.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

from mambaboot.platforms import IS_WINDOWS, is_link

#: Called once per file or link ``remove_tree`` deletes (see ``reporting_deletions``).
_ON_DELETE: ContextVar[Callable[[], None]] = ContextVar("mambaboot_on_delete",
                                                       default=lambda: None)


@contextlib.contextmanager
def reporting_deletions(callback: Callable[[], None]) -> Iterator[None]:
    """Within the block, ``remove_tree`` calls ``callback`` after each file or link it deletes.

    Progress for removing a 50,000-file environment; a context variable rather
    than a parameter, since removal runs through ``Prefix.destroy``, whose
    callers have no business knowing about progress.
    """
    token = _ON_DELETE.set(callback)
    try:
        yield
    finally:
        _ON_DELETE.reset(token)


def unlink_link(path: Path) -> None:
    """Remove a symlink or junction itself, leaving its target untouched."""
    if IS_WINDOWS and path.is_dir():  # pragma: no cover - junctions are removed with rmdir
        os.rmdir(path)
    else:
        path.unlink()


def link_dir(link: Path, target: Path) -> None:
    """Symlink on POSIX; a directory junction on Windows (no admin rights needed)."""
    if IS_WINDOWS:  # pragma: no cover - exercised on Windows only
        import subprocess  # Windows junctions only: kept off the import path of `run`

        subprocess.run(["cmd", "/d", "/c", "mklink", "/J", str(link), str(target)],
                       check=True, capture_output=True)
    else:
        link.symlink_to(target, target_is_directory=True)


def _make_writable(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)


def mount_points() -> frozenset[str]:
    """Every mount point this process sees (Linux ``/proc/self/mountinfo``), else empty.

    ``st_dev`` alone misses a bind mount of a directory from the same
    filesystem, which is exactly how a user's data can end up inside an
    environment; the kernel's mount table names those too.
    """
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return frozenset()
    points = set()
    for line in lines:
        fields = line.split(" ")
        if len(fields) > 4:
            points.add(_unescape_mount(fields[4]))
    return frozenset(points)


def _unescape_mount(text: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes (``\\040``)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def crossing_mounts(root: Path, mounts: frozenset[str] | None = None) -> Path | None:
    """The first directory at or below ``root`` that is another filesystem or a mount point.

    Links are not entered (they are unlinked, never followed, by ``remove_tree``).
    None when the whole tree is on ``root``'s filesystem.
    """
    mounts = mount_points() if mounts is None else mounts
    try:
        root_dev = os.lstat(root).st_dev
    except OSError:
        return None
    base = os.path.abspath(root)
    inside = sorted(m for m in mounts if m == base or m.startswith(os.path.join(base, "")))
    if inside:
        return Path(inside[0])
    for entry in walk(root):
        if not entry.is_dir(follow_symlinks=False) or is_link(Path(entry.path)):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_dev != root_dev:
                return Path(entry.path)
        except OSError:
            continue
    return None


def walk(root: Path) -> Iterator[os.DirEntry[str]]:
    """Every entry below ``root``, depth first; links and junctions are yielded, never
    entered, and unreadable folders are skipped (the walks that measure or check a tree)."""
    stack = [str(root)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            yield entry
            if entry.is_dir(follow_symlinks=False) and not is_link(Path(entry.path)):
                stack.append(entry.path)


def discard_tree(path: str | os.PathLike[str]) -> None:
    """Delete a scratch tree of ours (a staging folder), however deep; errors are ignored.

    Never follows a link. Iterative: ``shutil.rmtree`` recurses once per folder
    level, and a hostile archive can nest thousands of levels (its
    ``RecursionError`` is not one ``ignore_errors`` swallows), which once left a
    staging folder that broke every later create's sweep.
    """
    top = os.fspath(path)
    try:
        if is_link(top) or not os.path.isdir(top):
            os.unlink(top)
            return
    except OSError:
        return
    stack = [(top, False)]
    while stack:
        folder, emptied = stack.pop()
        if emptied:
            with contextlib.suppress(OSError):
                os.rmdir(folder)
            continue
        stack.append((folder, True))
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, False))
                    else:
                        os.unlink(entry.path)


def remove_tree(root: Path, *, trash: Path | None = None,
                last: tuple[Path, ...] = ()) -> list[Path]:
    """Delete ``root`` without ever entering a link; return paths that could not be removed.

    A file that cannot be deleted (in use on Windows) is renamed into ``trash``
    when given, so the prefix itself still disappears and the leftovers are
    cleaned on a later run. The walk never descends into another filesystem or
    a mount point (those are reported as leftovers, their contents untouched).
    Files in ``last`` are deleted only after everything else, in the given
    order: a ``creating`` marker removed last means an interrupted clean-up
    still leaves a tree that is recognisably an unfinished create.
    """
    leftovers: list[Path] = []
    if is_link(root):
        unlink_link(root)
        return leftovers
    try:
        root_dev = os.lstat(root).st_dev
    except OSError:
        return leftovers
    base = os.path.normcase(os.path.abspath(root))
    keep = {os.path.normcase(os.path.abspath(p)) for p in last}
    held: set[str] = set()  # the root and every folder holding a file kept for last
    for kept in keep:
        folder = os.path.dirname(kept)
        while folder.startswith(base) and folder not in held:
            held.add(folder)
            folder = os.path.dirname(folder)
    walk = _Walk(root_dev, mount_points() - {os.path.abspath(root)}, trash, keep, held)
    leftovers += walk.remove(root)
    for path in last:
        if os.path.lexists(path):
            _remove_file(Path(path), trash, leftovers)
    for folder in sorted(held, key=len, reverse=True):
        try:
            os.rmdir(folder)
        except FileNotFoundError:
            pass
        except OSError:
            leftovers.append(Path(folder))
    return leftovers


class _Walk:
    """One deletion walk: the device it may not leave and the paths it must keep for last."""

    def __init__(self, dev: int, mounts: frozenset[str], trash: Path | None,
                 keep: set[str], held: set[str]) -> None:
        self.dev, self.mounts, self.trash, self.keep, self.held = dev, mounts, trash, keep, held
        self.deleted = _ON_DELETE.get()

    def remove(self, root: Path) -> list[Path]:
        leftovers: list[Path] = []
        try:
            entries = list(os.scandir(root))
        except OSError:
            return [root]
        for entry in entries:
            path = Path(entry.path)
            key = os.path.normcase(os.path.abspath(path))
            if key in self.keep:
                continue
            if is_link(path):
                _remove_file(path, self.trash, leftovers, link=True)
                self.deleted()
            elif entry.is_dir(follow_symlinks=False):
                if self._foreign_mount(entry):
                    leftovers.append(path)  # never enter another filesystem
                else:
                    leftovers += self.remove(path)
            else:
                _remove_file(path, self.trash, leftovers)
                self.deleted()
        if os.path.normcase(os.path.abspath(root)) in self.held:
            return leftovers  # emptied later, after the files kept for last
        try:
            os.rmdir(root)
        except OSError:
            _make_writable(root)
            try:
                os.rmdir(root)
            except OSError:
                leftovers.append(root)
        return leftovers

    def _foreign_mount(self, entry: os.DirEntry[str]) -> bool:
        try:
            if entry.stat(follow_symlinks=False).st_dev != self.dev:
                return True
        except OSError:
            return True
        return os.path.abspath(entry.path) in self.mounts


def _remove_file(path: Path, trash: Path | None, leftovers: list[Path], link: bool = False) -> None:
    try:
        if link:
            unlink_link(path)
        else:
            path.unlink()
        return
    except PermissionError:
        _make_writable(path)
        try:
            path.unlink()
            return
        except OSError:
            pass
    except FileNotFoundError:
        return
    if trash is not None and move_aside(path, trash):
        return
    leftovers.append(path)


def move_aside(path: Path, trash: Path) -> bool:
    """Rename a locked file into the trash folder (Windows allows renaming open files)."""
    try:
        trash.mkdir(parents=True, exist_ok=True)
        os.replace(path, trash / f"{os.urandom(8).hex()}-{path.name}")
    except OSError:
        return False
    return True


def tree_size(root: Path) -> tuple[int, int]:
    """(bytes, files) of a tree, counting each hard-linked inode once and not following links."""
    seen: set[tuple[int, int]] = set()
    total = files = 0
    for entry in walk(root):
        if entry.is_symlink() or entry.is_dir(follow_symlinks=False):
            continue
        st = entry.stat(follow_symlinks=False)
        files += 1
        key = (st.st_dev, st.st_ino)
        if key not in seen:
            seen.add(key)
            total += st.st_size
    return total, files


def write_atomic(path: Path, data: bytes | str, *, mode: int | None = None) -> None:
    """Write ``path`` through a temporary sibling and a rename.

    Readers see the old file or the whole new one, never half of it, and the
    rename makes a new inode: a file hard-linked from the package cache is
    replaced, never written through. ``mode`` sets the permission bits first.
    """
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_json(path: Path, data: object, *, sort_keys: bool = False) -> None:
    """``write_atomic`` of an indented JSON document (records, manifests, stamps)."""
    import json

    write_atomic(path, json.dumps(data, indent=2, sort_keys=sort_keys) + "\n")


def sha256_file(path: Path | str) -> str:
    """The hex sha256 of a file's bytes, read in 1 MiB blocks."""
    return file_digest(path)[0]


def file_digest(path: Path | str, algorithm: str = "sha256") -> tuple[str, int]:
    """``(hex digest, size)`` of a file, from one unbuffered read of its bytes."""
    import hashlib

    digest, size = hashlib.new(algorithm, usedforsecurity=algorithm != "md5"), 0
    with open(path, "rb", buffering=0) as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def path_of_file_url(url: str) -> Path:
    """The local path a ``file://`` URL names: percent-decoded, ``/C:/x`` -> ``C:/x`` on Windows."""
    from urllib.parse import unquote, urlparse

    path = unquote(urlparse(url).path)
    if IS_WINDOWS and re.match(r"^/[A-Za-z]:", path):  # pragma: no cover - Windows only
        path = path[1:]
    return Path(path)
