"""File integrity and drift: are the installed files and packages the locked ones?

Every file in ``conda-meta/*.json`` ``paths_data`` is checked for existence,
size and sha256. Files whose prefix placeholder was rewritten at install are
checked against ``sha256_in_prefix`` (the digest of the rewritten content, as
rattler records it), so a moved environment shows up as drift, honestly.
A file the package shipped must still be a regular file (one swapped for a
symlink is drift, whatever the link points to); a softlink must still point
where the package's own link points. Entries without a recorded sha256 are
checked for existence, type and size and listed as unverified, never as
intact. Hashing streams each file; small files are hashed inline and large ones in a
thread pool (hashlib releases the GIL on large buffers, not on small ones).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mambaboot.fsutil import file_digest
from mambaboot.packages.transaction import Layout

#: Files at least this big are hashed in worker threads (hashlib releases the GIL).
BIG_FILE = 256 * 1024


@dataclass
class Drift:
    missing: list[str] = field(default_factory=list)     # "pkg: path"
    modified: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)       # packages not in the lockfile
    removed: list[str] = field(default_factory=list)     # locked packages not installed
    changed: list[str] = field(default_factory=list)     # same name, other build/hash
    unverified: list[str] = field(default_factory=list)  # no sha256 recorded: size/type only
    shared: list[str] = field(default_factory=list)      # modified, and hard-linked elsewhere
    damaged_cache: set[str] = field(default_factory=set)  # cache trees holding such a file
    files_checked: int = 0
    bytes_hashed: int = 0


def _check_entry(prefix: str, owner: str, entry: dict[str, Any],  # noqa: PLR0911 - a table
                 extracted: str | None = None) -> tuple[str, str, int]:
    """("ok"|"missing"|"modified"|"unverified", label, bytes hashed) for one paths_data entry.

    ``extracted`` is the package's folder in the cache (``extracted_package_dir``
    of its record), where the shipped symlink targets can be read back.
    """
    rel = entry["_path"]
    source = entry.get("_source", rel)  # where the file is in the package (see _placed)
    path = os.path.join(prefix, rel)
    label = f"{owner}: {rel}"
    try:
        st = os.lstat(path)  # one stat answers exists, is-a-link and size
    except OSError:
        return "missing", label, 0
    kind = entry.get("path_type")
    if kind == "softlink":
        return _check_softlink(prefix, path, rel=source, entry=entry, extracted=extracted,
                               label=label, st=st)
    if kind == "directory":
        return ("ok" if stat.S_ISDIR(st.st_mode) else "modified"), label, 0
    if stat.S_ISLNK(st.st_mode):
        # a file the package shipped, swapped for a link: its content is not what was hashed
        return "modified", f"{label} (now a symlink)", 0
    if not stat.S_ISREG(st.st_mode):
        return "modified", f"{label} (not a regular file)", 0
    expected = entry.get("sha256_in_prefix") or entry.get("sha256")
    rewritten = "sha256_in_prefix" in entry or "prefix_placeholder" in entry
    # cheap size check first, except where the placeholder rewrite changed the size
    size = entry.get("size_in_bytes")
    if size is not None and not rewritten and st.st_size != size:
        return "modified", label + _sharing(st, extracted, source), 0
    if not expected:
        return "unverified", label, 0  # existence, type and size only: nothing to hash against
    try:
        actual, hashed = file_digest(path)
    except OSError:
        return "missing", label, 0
    if actual == expected:
        return "ok", label, hashed
    return "modified", label + _sharing(st, extracted, source), hashed


def _sharing(st: os.stat_result, extracted: str | None, rel: str) -> str:
    """Say when a damaged file is one inode with the cache or other environments.

    Environments are hard-linked to the package cache: an edit made through
    one of them is an edit of all of them (a new create unpacks such a cache
    entry afresh, but environments already linked to it keep the damage).
    """
    if extracted:
        with contextlib.suppress(OSError):
            cached = os.stat(os.path.join(extracted, rel))
            if (cached.st_ino, cached.st_dev) == (st.st_ino, st.st_dev):
                return f" (the same file as in the package cache, {extracted})"
    if st.st_nlink > 1:
        return f" (hard-linked: {st.st_nlink - 1} other place(s) share this damage)"
    return ""


def _check_softlink(prefix: str, path: str, *, rel: str,  # noqa: PLR0911 - a table
                    entry: dict[str, Any], extracted: str | None, label: str,
                    st: os.stat_result) -> tuple[str, str, int]:
    """A softlink record holds if the link points where the package's own link points.

    The shipped link in the cache is the reference; without it, the record's
    sha256 must be the digest of the target text (how rattler-built and our
    demo packages record links) or of the content the link reaches inside the
    prefix (conda-build's convention). A link that leaves the prefix never holds.
    """
    if not stat.S_ISLNK(st.st_mode):
        return "modified", f"{label} (no longer a symlink)", 0
    try:
        target = os.readlink(path)
    except OSError:
        return "missing", label, 0
    if extracted:
        try:
            shipped = os.readlink(os.path.join(extracted, rel))
        except OSError:
            shipped = None
        if shipped is not None:
            return ("ok" if target == shipped else "modified"), label, 0
    expected = entry.get("sha256")
    if not expected:
        return "unverified", label, 0
    if hashlib.sha256(os.fsencode(target)).hexdigest() == expected:
        return "ok", label, 0
    real, root = os.path.realpath(path), os.path.realpath(prefix)
    if os.path.commonpath([real, root]) != root or not os.path.isfile(real):
        return "modified", label, 0
    try:
        actual, hashed = file_digest(real)
    except OSError:
        return "modified", label, 0
    return ("ok" if actual == expected else "modified"), label, hashed


def _layout(records: list[dict[str, Any]]) -> Layout:
    """Where this prefix's python puts noarch: python files."""
    for record in records:
        if record.get("name") == "python":
            return Layout.for_python(str(record.get("version") or ""),
                                     record.get("python_site_packages_path"))
    return Layout.for_python(None)


def _placed(entry: dict[str, Any], layout: Layout) -> dict[str, Any]:
    """A noarch: python entry at its installed path.

    conda keeps such paths package-relative (``site-packages/x.py``) in
    ``paths_data``; rattler writes them already placed (then this is a no-op).
    The package-relative path is kept to find the file in the package cache.
    """
    placed = layout.place(entry["_path"])
    return entry if placed == entry["_path"] else {**entry, "_path": placed,
                                                   "_source": entry["_path"]}


def check_files(prefix: Path, records: list[dict[str, Any]], drift: Drift,
                workers: int | None = None) -> None:
    """Check every file; big files are hashed in threads, small ones inline.

    Per-file Python overhead dominates small files, and threads contend for
    the GIL there (hashlib only releases it for larger buffers): handing them
    to a pool made verify 3-4x slower than one thread. Large files release the
    GIL while hashing, so they overlap with the inline work on other cores.
    """
    root = str(prefix)
    layout = _layout(records)
    jobs = [(r.get("name", "?"), _placed(e, layout) if r.get("noarch") == "python" else e,
             r.get("extracted_package_dir") or None) for r in records
            for e in (r.get("paths_data") or {}).get("paths", []) if "_path" in e]
    results: list[tuple[str, str, int] | None] = [None] * len(jobs)
    big = [i for i, (_, e, _x) in enumerate(jobs) if (e.get("size_in_bytes") or 0) >= BIG_FILE]
    with ThreadPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 2)) as pool:
        futures = {i: pool.submit(_check_entry, root, *jobs[i]) for i in big}
        for i, job in enumerate(jobs):
            if i not in futures:
                results[i] = _check_entry(root, *job)
        for i, future in futures.items():
            results[i] = future.result()
    for (_owner, _entry, extracted), result in zip(jobs, results, strict=True):
        if result is None:
            continue
        state, label, size = result
        drift.files_checked += 1
        drift.bytes_hashed += size
        if state == "missing":
            drift.missing.append(label)
        elif state == "modified":
            drift.modified.append(label)
            if label.endswith(")") and (" (the same file as" in label or " (hard-linked" in label):
                drift.shared.append(label)
            if extracted and " (the same file as in the package cache" in label:
                drift.damaged_cache.add(extracted)
        elif state == "unverified":
            drift.unverified.append(label)


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
