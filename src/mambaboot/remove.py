"""``remove``: delete exactly what create made, nothing through a link, nothing else.

Each guard below refuses before anything is deleted, and each has its own
test (tests/test_remove_guards.py) built so that no other guard catches the
same case first:

* a root or home directory;
* a path that is a link, or is reached through a symlinked parent (the
  README promises that remove follows no link; the real path is named);
* the environment active in this shell (``CONDA_PREFIX`` *or*
  ``MAMBABOOT_ENV``, each checked on its own);
* anything that is not ours (``prefix.require_env``; a failed create is ours);
* a mount point or another filesystem anywhere inside the environment: a bind
  mount's target would otherwise be emptied through it.

The ``pkgs`` link to the shared cache is unlinked first, so the walk can never
reach the cache even if the link were replaced by a directory; the walk itself
also never enters a link or another device (``fsutil.remove_tree``). Anything
that could not be deleted makes the command fail: a partial remove is never
reported as success.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from mambaboot.envlock import env_lock
from mambaboot.errors import MambabootError, NotAnEnvironmentError
from mambaboot.events import ProgressCallback
from mambaboot.fsutil import (
    crossing_mounts,
    is_link,
    remove_tree,
    reporting_deletions,
    unlink_link,
    walk,
)
from mambaboot.prefix import require_env
from mambaboot.results import RemoveResult
from mambaboot.verify.checks import same_path

TRASH_DIR = ".mambaboot-trash"
#: Deletions reported per ``deleted`` event: one event per file would cost more than the
#: display is worth on a 50,000-file environment.
DELETED_BATCH = 250
#: Variables naming the environment this shell is in; each is checked on its own.
ACTIVE_ENV_VARS = ("CONDA_PREFIX", "MAMBABOOT_ENV")


def _refuse_dangerous(path: Path) -> None:
    """Refuse roots, home, links, symlinked parents and the active environment."""
    home = Path.home()
    # realpath comparisons: '/tmp/..' is the root too, a link to home is home too
    if same_path(path, home) or same_path(path, Path(path.anchor or "/")):
        raise NotAnEnvironmentError(f"Refusing to remove {path}: it is a root or home directory.")
    if is_link(path):
        raise NotAnEnvironmentError(
            f"Refusing to remove {path}: it is a link; remove the environment at its real path.")
    linked = _linked_parent(path)
    if linked is not None:
        real = os.path.realpath(path)
        raise NotAnEnvironmentError(
            f"Refusing to remove {path}: its parent {linked} is a link and remove follows no "
            f"link; remove the environment at its real path {real}.")
    for var in ACTIVE_ENV_VARS:
        active = os.environ.get(var)
        if active and same_path(active, path):
            raise MambabootError(
                f"Refusing to remove {path}: it is the active environment of this shell ({var}); "
                "exit it first, then remove it.")


def _linked_parent(path: Path) -> Path | None:
    """The first ancestor of ``path`` that is a symlink or junction, if any."""
    for parent in reversed(Path(os.path.abspath(path)).parents):
        if is_link(parent):
            return parent
    return None


def _refuse_mounts(path: Path) -> None:
    """Refuse when any folder inside is a mount point or on another filesystem."""
    crossing = crossing_mounts(path)
    if crossing is not None:
        raise MambabootError(
            f"Refusing to remove {path}: {crossing} inside it is a mount point or another "
            "filesystem; unmount it (or move it out) first, remove never crosses into one.")


def remove_env(path: Path, *, dry_run: bool = False,
               progress: ProgressCallback | None = None) -> RemoveResult:
    """Remove the environment at ``path`` (or only describe it with ``dry_run``).

    With ``progress`` (the CLI passes it only when something is shown), the
    files are counted first and deletions reported in batches: removing a large
    environment takes many seconds that must not look like a hang.
    """
    _refuse_dangerous(path)
    prefix = require_env(path, allow_incomplete=True)
    if not dry_run:
        empty_trash(prefix.path.parent)
    entries = tuple(sorted(p.name for p in prefix.path.iterdir()))
    if dry_run:
        _refuse_mounts(prefix.path)  # the plan shows the refusal the real remove would give
        return RemoveResult(prefix.path, removed=False, dry_run=True, entries=entries)
    with env_lock(prefix.path, "remove"):
        _refuse_mounts(prefix.path)  # under the lock, right before deleting
        if is_link(prefix.pkgs_link):
            unlink_link(prefix.pkgs_link)
        with _reported(prefix.path, progress):
            leftovers = prefix.destroy(trash=prefix.path.parent / TRASH_DIR)
    if leftovers:
        raise MambabootError(
            f"Could not delete {len(leftovers)} item(s) under {prefix.path} (e.g. {leftovers[0]}); "
            "close programs using the environment and run remove again.")
    return RemoveResult(prefix.path, removed=True, dry_run=False, entries=entries)


@contextlib.contextmanager
def _reported(path: Path, progress: ProgressCallback | None) -> Iterator[None]:
    """Count what is under ``path``, then report deletions (``remove-start``, ``deleted``)."""
    if progress is None:
        yield
        return
    progress("remove-count", {"path": str(path)})
    progress("remove-start", {"path": str(path), "total": count_files(path)})
    pending = 0

    def deleted() -> None:
        nonlocal pending
        pending += 1
        if pending >= DELETED_BATCH:
            progress("deleted", {"count": pending})
            pending = 0

    try:
        with reporting_deletions(deleted):
            yield
    finally:
        if pending:
            progress("deleted", {"count": pending})


def empty_trash(root: Path) -> None:
    """Delete what earlier removes moved aside into ``ROOT/.mambaboot-trash``.

    On Windows a file that a running program holds open cannot be deleted, only
    renamed: remove moves it into the trash so the environment's folder goes
    away at once. The next remove under the same root deletes what is no longer
    held (best effort: what is still held stays for the remove after that).
    """
    trash = root / TRASH_DIR
    if is_link(trash) or not trash.is_dir():
        return  # never follow a link planted in the trash's place
    with contextlib.suppress(OSError):
        remove_tree(trash)


def count_files(root: Path) -> int:
    """Files and links under ``root``, entering no link (the total a remove's bar counts to)."""
    return sum(1 for entry in walk(root)
               if not entry.is_dir(follow_symlinks=False) or is_link(Path(entry.path)))
