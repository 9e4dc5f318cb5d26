"""File integrity and drift: are the installed files and packages the locked ones?

Every file in ``conda-meta/*.json`` ``paths_data`` is checked for existence,
size and sha256. Files whose prefix placeholder was rewritten at install are
checked against ``sha256_in_prefix`` (the digest of the rewritten content, as
rattler records it), so a moved environment shows up as drift, honestly.
Hashing streams each file and runs in a thread pool: hashlib releases the GIL,
so two cores hash about twice as fast.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mambaboot.archives import CHUNK


@dataclass
class Drift:
    missing: list[str] = field(default_factory=list)     # "pkg: path"
    modified: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)       # packages not in the lockfile
    removed: list[str] = field(default_factory=list)     # locked packages not installed
    changed: list[str] = field(default_factory=list)     # same name, other build/hash
    files_checked: int = 0
    bytes_hashed: int = 0


def _digest(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _check_entry(prefix: Path, owner: str, entry: dict[str, Any]) -> tuple[str, str, int]:
    """("ok"|"missing"|"modified", label, bytes hashed) for one paths_data entry."""
    rel = entry["_path"]
    path = prefix / rel
    label = f"{owner}: {rel}"
    if not os.path.lexists(path):
        return "missing", label, 0
    expected = entry.get("sha256_in_prefix") or entry.get("sha256")
    if entry.get("path_type") == "softlink" or path.is_symlink() or not expected:
        return "ok", label, 0
    try:
        # cheap size check first, except where the placeholder rewrite changed the size
        if "sha256_in_prefix" not in entry and path.stat().st_size != entry.get(
                "size_in_bytes", path.stat().st_size):
            return "modified", label, 0
        actual, size = _digest(path)
    except OSError:
        return "missing", label, 0
    return ("ok" if actual == expected else "modified"), label, size


def check_files(prefix: Path, records: list[dict[str, Any]], drift: Drift,
                workers: int | None = None) -> None:
    jobs = [(r.get("name", "?"), e) for r in records
            for e in (r.get("paths_data") or {}).get("paths", []) if "_path" in e]
    with ThreadPoolExecutor(max_workers=workers or min(8, (os.cpu_count() or 2) * 2)) as pool:
        for state, label, size in pool.map(lambda j: _check_entry(prefix, *j), jobs,
                                           chunksize=64):
            drift.files_checked += 1
            drift.bytes_hashed += size
            if state == "missing":
                drift.missing.append(label)
            elif state == "modified":
                drift.modified.append(label)


def locked_packages(lockfile: Path) -> dict[str, tuple[str, str]]:
    """name -> (file name, sha256) from our lockfile, read as YAML (no engine import)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(lockfile.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    result = {}
    for pkg in data.get("packages", []) or []:
        url = pkg.get("conda")
        if not url:
            continue
        file_name = str(url).rsplit("/", 1)[-1]
        result[file_name.rsplit("-", 2)[0]] = (file_name, pkg.get("sha256", ""))
    return result


def compare_with_lock(records: list[dict[str, Any]], locked: dict[str, tuple[str, str]],
                      drift: Drift) -> None:
    installed = {r.get("name", "?"): (str(r.get("url", "")).rsplit("/", 1)[-1],
                                      r.get("sha256", "")) for r in records}
    for name in sorted(installed.keys() - locked.keys()):
        drift.added.append(f"{name} ({installed[name][0]})")
    for name in sorted(locked.keys() - installed.keys()):
        drift.removed.append(f"{name} ({locked[name][0]})")
    for name in sorted(installed.keys() & locked.keys()):
        if installed[name] != locked[name]:
            drift.changed.append(f"{name}: locked {locked[name][0]}, "
                                 f"installed {installed[name][0]}")
