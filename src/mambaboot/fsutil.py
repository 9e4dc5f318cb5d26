"""File-system helpers that never follow links out of the tree they work on.

conda#9755 deleted terabytes through a junction during remove: here every
walker treats symlinks and Windows junctions as leaves to unlink, never as
directories to enter.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

IS_WINDOWS = sys.platform == "win32"


def is_link(path: Path) -> bool:
    """True for symlinks and for Windows directory junctions."""
    if path.is_symlink():
        return True
    is_junction = getattr(path, "is_junction", None)  # Python >= 3.12
    if is_junction is not None:
        return bool(is_junction())
    if IS_WINDOWS:  # pragma: no cover - exercised on Windows only
        try:
            st = os.lstat(path)
        except OSError:
            return False
        reparse = getattr(stat, "FILE_ATTRIBUTE_REPARSE_POINT", 0x400)
        return bool(getattr(st, "st_file_attributes", 0) & reparse)
    return False


def unlink_link(path: Path) -> None:
    """Remove a symlink or junction itself, leaving its target untouched."""
    if IS_WINDOWS and path.is_dir():  # pragma: no cover - junctions are removed with rmdir
        os.rmdir(path)
    else:
        path.unlink()


def link_dir(link: Path, target: Path) -> None:
    """Symlink on POSIX; a directory junction on Windows (no admin rights needed)."""
    if IS_WINDOWS:  # pragma: no cover - exercised on Windows only
        subprocess.run(["cmd", "/d", "/c", "mklink", "/J", str(link), str(target)],
                       check=True, capture_output=True)
    else:
        link.symlink_to(target, target_is_directory=True)


def _make_writable(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)


def remove_tree(root: Path, *, trash: Path | None = None) -> list[Path]:
    """Delete ``root`` without ever entering a link; return paths that could not be removed.

    A file that cannot be deleted (in use on Windows) is renamed into ``trash``
    when given, so the prefix itself still disappears and the leftovers are
    cleaned on a later run.
    """
    leftovers: list[Path] = []
    if is_link(root):
        unlink_link(root)
        return leftovers
    if not root.exists():
        return leftovers
    for entry in list(os.scandir(root)):
        path = Path(entry.path)
        if is_link(path):
            _remove_file(path, trash, leftovers, link=True)
        elif entry.is_dir(follow_symlinks=False):
            leftovers += remove_tree(path, trash=trash)
        else:
            _remove_file(path, trash, leftovers)
    try:
        os.rmdir(root)
    except OSError:
        _make_writable(root)
        try:
            os.rmdir(root)
        except OSError:
            leftovers.append(root)
    return leftovers


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
        os.replace(path, trash / f"{uuid.uuid4().hex}-{path.name}")
    except OSError:
        return False
    return True


def tree_size(root: Path) -> tuple[int, int]:
    """(bytes, files) of a tree, counting each hard-linked inode once and not following links."""
    seen: set[tuple[int, int]] = set()
    total = files = 0
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
                continue
            st = entry.stat(follow_symlinks=False)
            files += 1
            key = (st.st_dev, st.st_ino)
            if key not in seen:
                seen.add(key)
                total += st.st_size
    return total, files
