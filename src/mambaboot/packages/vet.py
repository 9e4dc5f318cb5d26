"""Vet every package of a transaction before the rattler engine links anything.

Runs in the engine worker, between solve and ``rattler.install``. One view of
each package: what is checked is the tree the engine links from.

* A package not yet in the cache: its archive is fetched and hashed against
  the repodata/lock sha256 (``fetch``), then read once, by **rattler's own
  reader**, which unpacks it into a staging folder and hashes the bytes it
  reads (they must be the expected ones) while we watch the folder's size
  (``unpack``: a bomb is stopped while it unpacks). The unpacked tree is
  checked with ``lstat`` (``rules.check_extracted``: limits, names, modes,
  links, metadata, and that it is exactly what its paths.json lists) and only
  then moved into the cache with rattler's cache lock. rattler then links
  from that tree.
* A package already in the cache: its tree's fingerprint (identity, mode,
  size, mtime of every listed file, the target of every listed link,
  everything in ``info/``) must match the one taken when it was vetted; a tree
  edited through a hard link from some environment is unpacked afresh from the
  archive instead of poisoning a new environment. A tree we never vetted (made
  by another tool) is checked and every file hashed against its paths.json once.
  With ``pending`` (the rattler worker), only ``info/`` is compared before
  linking, and each whole tree again once the engine linked it (``Watch``): a
  changed one makes the worker unpack it afresh and link the environment again.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import queue
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mambaboot.errors import UnsafePackageError
from mambaboot.fsutil import discard_tree, sha256_file, write_atomic
from mambaboot.packages.condacache import record_for_conda
from mambaboot.packages.fetch import (
    ProgressCallback,
    Wanted,
    ensure_archives,
    no_progress,
    rattler_cached_sha256,
)
from mambaboot.packages.limits import Limits
from mambaboot.packages.rules import (
    Clobber,
    Contents,
    check_extracted,
    check_file_name,
    check_identity,
    check_path,
    fingerprint,
    fingerprint_info,
    refuse,
    split_fingerprint,
)
from mambaboot.packages.transaction import Layout, check_transaction
from mambaboot.packages.unpack import Job, Unpacker

#: Marks "no archive given for this record" in ``known`` (None means "cached copy is fine").
_UNKNOWN = object()
#: Bump whenever the rules change, so every cached package is vetted again
#: (3: trees must match their paths.json; stamps carry the checked contents;
#: 4: the fingerprint covers the listed paths and info/, not every name;
#: 5: each line carries the file's device and inode instead of a line per folder;
#: 6: the fingerprint is INFO:FILES, compared before and while linking).
CHECKER_VERSION = 6
STAMP_DIR = ".mambaboot-vetted"
STAGING_DIR = ".mambaboot-staging"
#: What rattler 0.28 writes into ``NAME-VERSION-BUILD.lock``: a big-endian
#: revision, then the archive's sha256.
_CACHE_REVISION = 1


@dataclass
class Pending:
    """What ``vet`` leaves for while and after the engine links (the rattler worker).

    ``trees``: every package's cache tree with the contents vetted for it (a
    cached one's ``info/`` matched its stamp before linking, a fresh one was just
    unpacked and checked). ``Watch`` compares each whole tree again right after
    the engine reports that package linked: that takes the O(files) ``lstat``
    work off a warm create's critical path without skipping it, and proves the
    engine linked from exactly the vetted trees (had it unpacked one again, or
    had the tree been changed before it was linked, its inodes or metadata
    differ). ``whole_before``: compare the listed files before linking too
    (``--allow-link-scripts``: a package's scripts run while the engine links,
    so an edited script must be caught before). ``links``: every symlink the
    transaction ships, at the path it takes in the prefix, for the after-link
    check (``check_linked``).
    """

    trees: list[tuple[str, Path, Contents]] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    whole_before: bool = False


class Watch:
    """Compares each package's vetted tree, whole, once the engine reports it linked.

    A thread takes the names from ``linked`` (called from the engine's progress
    callback) as they come, so the comparison runs while the engine links the
    others, and it happens *after* that package's files were linked: a tree
    changed at any time before (a file swapped for a symlink out of the cache, a
    folder for a copy, paths.json edited, a tree the engine unpacked again) no
    longer matches. ``finish`` waits for the thread and compares whatever was
    never reported; it returns the names that changed. ``metadata_changed``: those
    whose ``info/`` changed (it decides where the engine writes, so that is no
    edit through an environment, and the create must fail, not link again).
    """

    def __init__(self, pending: Pending) -> None:
        self._trees = {name: (folder, stamp) for name, folder, stamp in pending.trees}
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._changed: set[str] = set()
        self.metadata_changed: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="mambaboot-watch", daemon=True)
        self._thread.start()

    def linked(self, name: str) -> None:
        self._queue.put(name)

    def finish(self) -> set[str]:
        self._queue.put(None)
        self._thread.join()
        for name in list(self._trees):
            self._check(name)
        return self._changed

    def _run(self) -> None:
        while (name := self._queue.get()) is not None:
            self._check(name)

    def _check(self, name: str) -> None:
        tree = self._trees.pop(name, None)
        if tree is None:
            return
        folder, stamp = tree
        try:
            now = fingerprint(folder, stamp.entries)
        except OSError:
            now = ""
        if now != stamp.fingerprint:
            self._changed.add(name)
            if split_fingerprint(now)[0] != split_fingerprint(stamp.fingerprint)[0]:
                self.metadata_changed.add(name)


def vet(records: list[Any], pkgs: Path, *, offline: bool = False,
        known: Mapping[str, Path | None] | None = None,
        limits: Limits | None = None,
        progress: ProgressCallback = no_progress,
        pending: Pending | None = None) -> tuple[dict[str, Path], list[Clobber]]:
    """Validate every record's package; return (name -> verified archive, clobbers).

    ``known`` holds archives a caller already verified (``from-lock``): a Path
    is an archive to unpack, None means rattler's cache entry carries the sha256.
    ``progress`` hears ``checked`` once per record and the downloads' events: vetting
    a cold 400-package create takes seconds that must not look like a hang.
    ``pending``: filled for a caller that compares the trees with ``Watch`` while it
    links and checks ``Pending.links`` after; without it every check is made here.
    """
    limits = limits or Limits()
    _sweep_staging(pkgs / STAGING_DIR)
    contents: list[Contents] = []
    local: dict[str, Path] = {}
    unpack: list[tuple[Wanted, Path]] = []
    fetch: list[Wanted] = []
    wanted = [_wanted(record) for record in records]
    for want in wanted:
        given = (known or {}).get(want.name, _UNKNOWN)
        if isinstance(given, Path):
            unpack.append((want, given))
            continue
        cached = _check_cached(pkgs, want, pending)
        if cached is not None:
            contents.append(cached)
            progress("checked", {"name": want.name})
            continue
        fetch.append(want)  # not cached, or its cached tree was changed since it was vetted
    if fetch or unpack:
        # the unpackers start now: their imports overlap the downloads
        with Unpacker(len(fetch) + len(unpack), pkgs) as unpacker:
            if fetch:
                got = ensure_archives(fetch, pkgs, offline=offline, need_archive=True,
                                      against="the channel's repodata", progress=progress)
                # misc: got maps to Path | None, but need_archive=True leaves no None
                unpack += [(want, got[want.name]) for want in fetch]  # type: ignore[misc]
            fresh = _unpack_all(unpack, pkgs, limits, unpacker, progress)
        contents += fresh
        if pending is not None:  # the engine must link exactly these trees too
            pending.trees += [(want.name, pkgs / want.dist, pkg)
                              for (want, _archive), pkg in zip(unpack, fresh, strict=True)]
        local.update({want.name: archive for want, archive in unpack})
    layout = _layout(records)
    clobbers = check_transaction(contents, layout)
    if pending is not None:
        for pkg in contents:
            pending.links.update(layout.installed(pkg)[1])
    # what conda and mamba inside the env need to reuse the cache
    record_for_conda(pkgs, [(want.dist, want.url, record.to_json())
                            for want, record in zip(wanted, records, strict=True)])
    return local, clobbers


def _layout(records: list[Any]) -> Layout:
    """Where noarch: python files land, from the transaction's own python."""
    for record in records:
        if record.name.normalized == "python":
            path = getattr(record, "python_site_packages_path", None)
            if path:
                # the channel says where noarch: python files go: the engine honours it,
                # so it must be a plain relative path inside the prefix like any other
                check_path(str(record.file_name), str(path), "python_site_packages_path")
            return Layout.for_python(str(record.version), str(path) if path else None)
    return Layout.for_python(None)


def _wanted(record: Any) -> Wanted:
    """The record's archive, after checking the names that become cache paths."""
    name, file_name = record.name.normalized, str(record.file_name)
    label = check_file_name(file_name)
    check_identity(label, name=name, version=record.version, build=record.build)
    if not record.sha256:
        raise refuse(label, "the channel's repodata gives no sha256 for it, so its bytes "
                            "cannot be verified")
    return Wanted(name, file_name, str(record.url), record.sha256.hex())


def _unpack_all(unpack: list[tuple[Wanted, Path]], pkgs: Path, limits: Limits,
                unpacker: Unpacker, progress: ProgressCallback) -> list[Contents]:
    """Unpack and check each archive in staging, then publish it in the cache (in order)."""
    staging = pkgs / STAGING_DIR
    staging.mkdir(parents=True, exist_ok=True)
    jobs = [Job(archive, staging / f"{os.getpid()}-{os.urandom(6).hex()}-{want.dist}",
                want.file_name, want.sha256, limits.budget(archive.stat().st_size),
                limits.max_members)
            for want, archive in unpack]
    wanted = {want.file_name: want for want, _archive in unpack}
    checked: dict[str, Contents] = {}

    def publish(job: Job, contents: Contents) -> None:
        want = wanted[job.label]
        checked[want.name] = _publish(job.staging, pkgs, want, contents)
        progress("checked", {"name": want.name})

    unpacker.run(jobs, publish)
    return [checked[want.name] for want, _archive in unpack]


def _sweep_staging(folder: Path) -> None:
    """Remove staging folders of workers that died mid-unpack (SIGKILL, power loss).

    Each is named after its worker's pid; a live pid's folder is left alone,
    since another create may be unpacking into it right now.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        pid = entry.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            discard_tree(entry.path)


def _pid_alive(pid: int) -> bool:
    if sys.platform == "win32":
        return True  # os.kill(pid, 0) would terminate the process there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, but not ours to signal
    return True


def _publish(staging: Path, pkgs: Path, want: Wanted, contents: Contents) -> Contents:
    """Move the checked tree into the cache, record its sha256 as rattler does, stamp it;
    return what the cache now holds (ours, or the concurrent create's, fingerprint included).

    When a concurrent create published a vetted tree of the same archive
    first, that one stays (its create may be linking from it right now: a
    replaced folder would pull files from under it) and ours is dropped. The
    stamp is written under the same lock, so the other create sees it.
    """
    with _cache_entry_lock(pkgs / f"{want.dist}.lock", exclusive=True) as fd:
        folder = pkgs / want.dist
        if rattler_cached_sha256(pkgs, want.dist) == want.sha256 and not folder.is_symlink():
            theirs = _read_stamp(_stamp_path(pkgs, want), want)
            marked = _afresh_mark(pkgs, want.dist).exists()
            if theirs is not None and not marked and _unchanged(folder, theirs):
                return theirs  # the caller discards our staging folder
        if folder.exists() or folder.is_symlink():
            # Environments keep their hard links to the old files; only the cache's
            # own names move aside, so a damaged or foreign tree is never reused.
            aside = staging.with_name(staging.name + ".old")
            os.replace(folder, aside)
            discard_tree(aside)
        os.replace(staging, folder)
        with contextlib.suppress(OSError):  # kept, it only costs another fresh unpack
            _afresh_mark(pkgs, want.dist).unlink()
        data = _CACHE_REVISION.to_bytes(8, "big") + bytes.fromhex(want.sha256)
        if fd is None or sys.platform == "win32":  # no lock fd on Windows (no os.pwrite)
            (pkgs / f"{want.dist}.lock").write_bytes(data)
        else:
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        _write_stamp(_stamp_path(pkgs, want), want, contents)
        return contents


def _check_cached(pkgs: Path, want: Wanted, pending: Pending | None = None) -> Contents | None:
    """The cached tree's contents, or None when it must be unpacked afresh.

    A tree whose stamp matches is not checked again: its fingerprint (mode,
    size, mtime or link target of every listed path and of ``info/``) is the one
    it had when the rules passed, so the contents recorded then are still what
    the engine will link. That keeps a warm create at one ``lstat`` per listed
    file, no directory reads and no metadata parsing. With ``pending``, only
    ``info/`` is compared here and the listed files are left to it.
    """
    folder = pkgs / want.dist
    # rattler's lock file holds the sha256 it extracted: read through the locked
    # descriptor (no lock file: not cached, and nothing is created by looking)
    with _cache_entry_lock(pkgs / f"{want.dist}.lock") as fd:
        if rattler_cached_sha256(pkgs, want.dist, fd) != want.sha256:
            return None
        if _afresh_mark(pkgs, want.dist).exists():
            return None  # marked damaged (forget_vetted): unpacked afresh from the archive
        stamp = _read_stamp(_stamp_path(pkgs, want), want)
        if stamp is not None:
            return stamp if _stamp_holds(folder, stamp, want.name, pending) else None
        try:
            contents = check_extracted(folder, want.file_name)
        except UnsafePackageError:
            return None  # changed after it was unpacked: the verified archive decides
        if not _files_match_paths_json(folder):
            return None
        _write_stamp(_stamp_path(pkgs, want), want, contents)
        if pending is not None:
            pending.trees.append((want.name, folder, contents))
        return contents


def _stamp_holds(folder: Path, stamp: Contents, name: str, pending: Pending | None) -> bool:
    """The whole fingerprint matches; or, with ``pending``, ``info/`` does and the whole
    tree is left to ``Watch`` as well (compared again once the engine linked it)."""
    if pending is None or pending.whole_before:
        same = _unchanged(folder, stamp)
    else:
        try:
            same = fingerprint_info(folder) == split_fingerprint(stamp.fingerprint)[0]
        except OSError:
            same = False
    if same and pending is not None:
        pending.trees.append((name, folder, stamp))
    return same


def _unchanged(folder: Path, stamp: Contents) -> bool:
    """Is the tree still the one vetted? (edited since: the verified archive decides)"""
    try:
        return fingerprint(folder, stamp.entries) == stamp.fingerprint
    except OSError:
        return False


def _files_match_paths_json(folder: Path) -> bool:
    """First sight of a tree another tool unpacked: every file must hash as paths.json says."""
    try:
        entries = json.loads((folder / "info" / "paths.json").read_bytes())["paths"]
    except (OSError, ValueError, KeyError, TypeError):
        return True  # no paths.json: nothing to compare with (info/files packages)
    for entry in entries:
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not digest or entry.get("path_type", "hardlink") != "hardlink":
            continue
        path = folder / entry["_path"]
        try:
            if sha256_file(path) != digest:
                return False
        except OSError:
            return False
    return True


def forget_vetted(tree: Path) -> None:
    """Mark the cached package ``tree`` damaged: its next use unpacks it afresh from the
    verified archive (and drops its stamps).

    Not "hash it against its paths.json" (what a tree another tool unpacked gets):
    a damaged tree's paths.json may be damaged too, and rattler's ``.lock`` beside
    it names the sha256 it was *asked* for, not one it checked (an attack session
    had rattler unpack a different archive from a file:// channel under the locked
    sha256). ``verify`` calls this when an environment's damaged file is one inode
    with the cache; the rattler worker when a tree changed while it linked.
    """
    stamps = tree.parent / STAMP_DIR
    lock = tree.parent / f"{tree.name}.lock"
    # under the entry's lock, as _publish: a concurrent publish never interleaves with
    # marking (a marker beside a fresh stamp would make every create unpack again)
    with contextlib.suppress(OSError), \
            _cache_entry_lock(lock, exclusive=lock.exists()):
        stamps.mkdir(exist_ok=True)
        _afresh_mark(tree.parent, tree.name).touch()
        for stamp in stamps.glob(f"{glob.escape(tree.name)}-*.json"):
            if re.fullmatch(r"[0-9a-f]{16}\.json", stamp.name[len(tree.name) + 1:]):
                stamp.unlink()


def _afresh_mark(pkgs: Path, dist: str) -> Path:
    """``STAMP_DIR/NAME-VERSION-BUILD.afresh``: that cached tree is never used again as is
    (``forget_vetted``); publishing a fresh unpack removes it."""
    return pkgs / STAMP_DIR / f"{dist}.afresh"


def _stamp_path(pkgs: Path, want: Wanted) -> Path:
    return pkgs / STAMP_DIR / f"{want.dist}-{want.sha256[:16]}.json"


def _read_stamp(stamp: Path, want: Wanted) -> Contents | None:
    """What the tree held when it was vetted, fingerprint included (None: never vetted
    by this checker)."""
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
        if (data["checker"], data["sha256"]) != (CHECKER_VERSION, want.sha256):
            return None
        return Contents.from_json(data["contents"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_stamp(stamp: Path, want: Wanted, contents: Contents) -> None:
    with contextlib.suppress(OSError):
        stamp.parent.mkdir(exist_ok=True)
        write_atomic(stamp, json.dumps({"checker": CHECKER_VERSION, "sha256": want.sha256,
                                        "contents": contents.to_json()}))


@contextlib.contextmanager
def _cache_entry_lock(path: Path, *, exclusive: bool = False) -> Iterator[int | None]:
    """Hold rattler's lock on a cache entry: a concurrent extraction is never seen half done."""
    if sys.platform == "win32":  # rattler locks differently; the sha re-check remains
        yield None
        return
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT if exclusive else os.O_RDONLY, 0o644)
    except OSError:
        if exclusive:
            raise
        yield None
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield fd
    finally:
        os.close(fd)
