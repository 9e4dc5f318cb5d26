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

import os
from pathlib import Path

from mambaboot.errors import MambabootError, NotAnEnvironmentError
from mambaboot.fsutil import crossing_mounts, is_link, unlink_link
from mambaboot.locking import env_lock
from mambaboot.prefix import require_env
from mambaboot.results import RemoveResult
from mambaboot.verify import same_path

TRASH_DIR = ".mambaboot-trash"
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


def remove_env(path: Path, *, dry_run: bool = False) -> RemoveResult:
    """Remove the environment at ``path`` (or only describe it with ``dry_run``)."""
    _refuse_dangerous(path)
    prefix = require_env(path, allow_incomplete=True)
    entries = tuple(sorted(p.name for p in prefix.path.iterdir()))
    if dry_run:
        _refuse_mounts(prefix.path)  # the plan shows the refusal the real remove would give
        return RemoveResult(prefix.path, removed=False, dry_run=True, entries=entries)
    with env_lock(prefix.path, "remove"):
        _refuse_mounts(prefix.path)  # under the lock, right before deleting
        if is_link(prefix.pkgs_link):
            unlink_link(prefix.pkgs_link)
        leftovers = prefix.destroy(trash=prefix.path.parent / TRASH_DIR)
    if leftovers:
        raise MambabootError(
            f"Could not delete {len(leftovers)} item(s) under {prefix.path} (e.g. {leftovers[0]}); "
            "close programs using the environment and run remove again.")
    return RemoveResult(prefix.path, removed=True, dry_run=False, entries=entries)
