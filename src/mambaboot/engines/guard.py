"""Vet every package of a transaction before the rattler engine links anything.

Runs in the engine worker, between solve and ``rattler.install``. A package
rattler already extracted into the cache (its ``.lock`` carries the repodata
sha256) is checked by walking that directory once; any other package is
fetched by us, its bytes verified against the repodata sha256, the archive
checked as a stream, and rattler then installs from that verified local file,
never from the network, so what was checked is what gets linked.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mambaboot.archives import Wanted, ensure_archives, rattler_cached_sha256
from mambaboot.pkgarchive import check_archive
from mambaboot.pkgcheck import Contents, check_extracted, check_identity, check_transaction, refuse

#: Marks "no archive given for this record" in ``known`` (None means "cached copy is fine").
_UNKNOWN = object()


def vet(records: list[Any], pkgs: Path, *, offline: bool = False,
        known: Mapping[str, Path | None] | None = None) -> dict[str, Path]:
    """Validate every record's package; return name -> verified local archive to link from.

    ``known`` holds archives a caller already verified (``from-lock``): a Path
    is checked as an archive, None as rattler's extracted copy in the cache.
    """
    contents: list[Contents] = []
    local: dict[str, Path] = {}
    fetch: list[Wanted] = []
    for record in records:
        want = _wanted(record)
        given = (known or {}).get(want.name, _UNKNOWN)
        if isinstance(given, Path):
            contents.append(check_archive(given, want.file_name))
            local[want.name] = given
        elif given is None or rattler_cached_sha256(pkgs, want.dist) == want.sha256:
            contents.append(_check_cached(pkgs, want))
        else:
            fetch.append(want)
    if fetch:
        got = ensure_archives(fetch, pkgs, offline=offline, need_archive=True,
                              against="the channel's repodata")
        for want in fetch:
            archive = got[want.name]
            assert archive is not None  # need_archive=True always yields a file
            contents.append(check_archive(archive, want.file_name))
            local[want.name] = archive
    check_transaction(contents)
    return local


def _wanted(record: Any) -> Wanted:
    """The record's archive, after checking the names that become cache paths."""
    name, file_name = record.name.normalized, str(record.file_name)
    label = repr(file_name) if not file_name.isprintable() else file_name
    check_identity(label, name=name, version=record.version, build=record.build,
                   **{"file name": file_name})
    if not file_name.endswith((".conda", ".tar.bz2")):
        raise refuse(label, "its file name does not end in .conda or .tar.bz2")
    if not record.sha256:
        raise refuse(label, "the channel's repodata gives no sha256 for it, so its bytes "
                            "cannot be verified")
    return Wanted(name, file_name, str(record.url), record.sha256.hex())


def _check_cached(pkgs: Path, want: Wanted) -> Contents:
    with _cache_entry_lock(pkgs / f"{want.dist}.lock"):
        if rattler_cached_sha256(pkgs, want.dist) != want.sha256:  # changed under us
            raise refuse(want.file_name, "its cached copy changed while it was checked, "
                                         "run the same command again")
        stamp = _stamp_path(pkgs, want)
        contents = _read_stamp(stamp, pkgs / want.dist, want)
        if contents is None:
            contents = check_extracted(pkgs / want.dist, want.file_name)
            _write_stamp(stamp, pkgs / want.dist, want, contents)
        return contents


#: Bump whenever pkgcheck's rules change, so every cached package is vetted again.
CHECKER_VERSION = 1
STAMP_DIR = ".mambaboot-vetted"


def _stamp_path(pkgs: Path, want: Wanted) -> Path:
    return pkgs / STAMP_DIR / f"{want.dist}-{want.sha256[:16]}.json"


def _fingerprint(folder: Path) -> list[int]:
    """Cheap tamper evidence: what rattler links is decided by info/paths.json."""
    st = (folder / "info" / "paths.json").stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _read_stamp(stamp: Path, folder: Path, want: Wanted) -> Contents | None:
    """A previous vet of this exact cached package: walking 500 packages' files on
    every warm create cost ~5 us per file, the stamp makes it one small read each."""
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
        if (data["checker"], data["sha256"], data["fingerprint"]) != (
                CHECKER_VERSION, want.sha256, _fingerprint(folder)):
            return None
        return Contents(want.file_name, list(data["entries"]), dict(data["links"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_stamp(stamp: Path, folder: Path, want: Wanted, contents: Contents) -> None:
    with contextlib.suppress(OSError):
        stamp.parent.mkdir(exist_ok=True)
        tmp = stamp.with_name(f".{stamp.name}.{os.getpid()}")
        tmp.write_text(json.dumps({
            "checker": CHECKER_VERSION, "sha256": want.sha256,
            "fingerprint": _fingerprint(folder), "entries": contents.entries,
            "links": contents.links}), encoding="utf-8")
        os.replace(tmp, stamp)


@contextlib.contextmanager
def _cache_entry_lock(path: Path) -> Iterator[None]:
    """Hold rattler's lock on a cache entry: a concurrent extraction is never seen half done."""
    try:
        import fcntl
    except ImportError:  # Windows: rattler locks differently; the sha re-check above remains
        yield
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)
