"""``remove``: delete exactly what create made, nothing through a link, nothing else.

Refuses anything that is not ours (``prefix.require_env``), the directory the
caller is inside of as an active environment, and any path reached through a
symlink. The ``pkgs`` link to the shared cache is unlinked first, so the walk
can never reach the cache even if the link were replaced by a directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from mambaboot.errors import MambabootError, NotAnEnvironmentError
from mambaboot.fsutil import is_link, remove_tree, unlink_link
from mambaboot.locking import env_lock
from mambaboot.prefix import require_env
from mambaboot.results import RemoveResult
from mambaboot.verify import same_path

TRASH_DIR = ".mambaboot-trash"


def _refuse_dangerous(path: Path) -> None:
    home = Path.home()
    if path.parent == path or same_path(path, home) or same_path(path, Path(path.anchor or "/")):
        raise NotAnEnvironmentError(f"Refusing to remove {path}: it is a root or home directory.")
    if is_link(path):
        raise NotAnEnvironmentError(
            f"Refusing to remove {path}: it is a link; remove the environment at its real path.")
    active = os.environ.get("CONDA_PREFIX") or os.environ.get("MAMBABOOT_ENV")
    if active and same_path(active, path):
        raise MambabootError(
            f"Refusing to remove {path}: it is the active environment of this shell; "
            "exit it first, then remove it.")


def remove_env(path: Path, *, dry_run: bool = False) -> RemoveResult:
    _refuse_dangerous(path)
    prefix = require_env(path, allow_incomplete=True)
    entries = tuple(sorted(p.name for p in prefix.path.iterdir()))
    if dry_run:
        return RemoveResult(prefix.path, removed=False, dry_run=True, entries=entries)
    with env_lock(prefix.path, "remove"):
        if is_link(prefix.pkgs_link):
            unlink_link(prefix.pkgs_link)
        leftovers = remove_tree(prefix.path, trash=prefix.path.parent / TRASH_DIR)
        leftovers += remove_tree(prefix.parked_meta)
    if leftovers:
        raise MambabootError(
            f"Could not delete {len(leftovers)} item(s) under {prefix.path} (e.g. {leftovers[0]}); "
            "close programs using the environment and run remove again.")
    return RemoveResult(prefix.path, removed=True, dry_run=False, entries=entries)
