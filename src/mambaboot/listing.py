"""``list``: every environment under the root, with its status and size."""

from __future__ import annotations

from pathlib import Path

from mambaboot.fsutil import tree_size
from mambaboot.prefix import Prefix, Status
from mambaboot.results import EnvEntry, ListResult

#: Made by mambaboot and finished, but its python is gone (removed with conda inside).
BROKEN = "broken"


def _has_python(prefix: Path) -> bool:
    return any((prefix / rel).exists() for rel in ("bin/python", "python.exe",
                                                    "bin/python3"))


def list_envs(root: Path, *, sizes: bool = True) -> ListResult:
    """Environments and failed creates under ``root``; foreign directories are ignored."""
    entries = []
    if root.is_dir():
        for child in sorted(root.iterdir(), key=lambda p: p.name.lower()):
            if child.name.startswith(".") or child.is_symlink() or not child.is_dir():
                continue
            prefix = Prefix(child)
            status = prefix.status
            if status not in (Status.OK, Status.INCOMPLETE):
                continue
            manifest = prefix.read_manifest() if status is Status.OK else {}
            count = len(list(prefix.conda_meta.glob("*.json"))) if prefix.conda_meta.is_dir() else 0
            size = tree_size(child)[0] if sizes else 0
            shown = status.value
            if status is Status.OK and not _has_python(child):
                shown = BROKEN  # e.g. 'conda remove python' inside: not usable as it is
            entries.append(EnvEntry(
                name=child.name, path=child, status=shown,
                python_version=manifest.get("python_version"), package_count=count,
                size_bytes=size))
    return ListResult(root, tuple(entries))
