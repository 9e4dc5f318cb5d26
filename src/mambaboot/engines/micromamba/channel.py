"""Route 2 for the micromamba binary: the ``micromamba`` conda package from the channels.

Where GitHub is blocked but a conda mirror is not (the common corporate case),
the very same binary is available as a conda package: a single static file,
``bin/micromamba`` (``Library/bin/micromamba.exe`` on Windows). Its archive is
verified against the sha256 in the channel's repodata, kept beside the binary
(``CACHE/micromamba/{version}/{subdir}/``, so a later ``--offline`` fetch works
from it and archives of different platforms, which share one file name, never
collide), and the one member is extracted next to it.

Version ``2.3.3-0`` means package version ``2.3.3`` with build string ``0``,
which is how conda-forge builds micromamba; ``2.3.3`` alone takes the highest
build. The rattler part (query, extract) runs in ``engines.micromamba.fetch_worker``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mambaboot import child
from mambaboot.engines.micromamba.binary import (
    BinaryInfo,
    binary_path,
    write_origin,
)
from mambaboot.errors import ChecksumError, EngineError, MissingBinaryError
from mambaboot.events import ProgressCallback
from mambaboot.fsutil import sha256_file
from mambaboot.locations import Cache
from mambaboot.net import (
    HttpSettings,
    download_verified,
    make_client,
    normalize_digest,
)

#: Both spellings: create takes --micromamba-source, "micromamba fetch" takes --source.
RELEASE_HINT = "--micromamba-source release (--source release with 'mambaboot micromamba fetch')"

def split_version(version: str) -> tuple[str, str | None]:
    """``2.3.3-0`` -> (``2.3.3``, ``0``); ``2.3.3`` -> (``2.3.3``, None)."""
    head, sep, tail = version.rpartition("-")
    return (head, tail) if sep and tail.isdigit() else (version, None)


def member_name(subdir: str) -> str:
    return "Library/bin/micromamba.exe" if subdir.startswith("win-") else "bin/micromamba"


def run_fetch_worker(request: dict[str, Any]) -> dict[str, Any]:
    """Run one worker operation in a child process (``child``); return its reply."""
    return child.run("mambaboot.engines.micromamba.fetch_worker", request,
                     what="The channel reader", timeout=900, timeout_message=(
                         "Reading the channels for micromamba took over 15 minutes; check the "
                         "network and the channel URLs, then try again."))


def fetch_from_channels(cache: Cache, *, version: str, subdir: str, pin: str | None,
                        channels: Sequence[str], offline: bool, progress: ProgressCallback,
                        settings: HttpSettings) -> BinaryInfo:
    if not channels:
        raise MissingBinaryError("No channel was given to fetch the micromamba package from; "
                                 f"pass -c CHANNEL or use {RELEASE_HINT}.")
    pkg_version, build = split_version(version)
    record = run_fetch_worker({
        "op": "query", "channels": list(channels), "subdir": subdir, "version": pkg_version,
        "build": build, "repodata_cache": str(cache.repodata), "offline": offline})
    if record.get("missing"):
        have = ", ".join(record.get("available", [])) or "none"
        raise MissingBinaryError(
            f"The channels have no micromamba {version} for {subdir} (they have: {have}); "
            f"pass --micromamba-version with one of those or use {RELEASE_HINT}.")
    dest = binary_path(cache, version, subdir)
    dest.parent.mkdir(parents=True, exist_ok=True)
    archive = _archive(dest.parent / record["file_name"], record, offline=offline,
                       progress=progress, settings=settings)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        reply = run_fetch_worker({"op": "extract", "archive": str(archive),
                                  "member": member_name(subdir), "dest": str(tmp)})
        if reply.get("missing_member"):
            raise EngineError(f"The package {record['file_name']} has no {member_name(subdir)}; "
                              f"it is not a micromamba package, use {RELEASE_HINT}.")
        sha = sha256_file(tmp)
        if pin and sha != normalize_digest(pin, "--micromamba-sha256"):
            raise ChecksumError(f"The micromamba from {record['file_name']} does not match the "
                                f"pin: expected {pin.lower()}, got {sha}; nothing was cached.")
        os.chmod(tmp, 0o755)  # noqa: S103 - an executable, writable only by its owner
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return write_origin(dest, version, subdir, sha256=sha, source="channel", url=record["url"],
                        package=record["file_name"], package_sha256=record["sha256"] or "")


def _archive(archive: Path, record: dict[str, Any], *, offline: bool,
             progress: ProgressCallback, settings: HttpSettings) -> Path:
    """The package archive at ``archive``, verified against repodata (fetched if needed)."""
    expected = record.get("sha256")
    if not expected:
        raise ChecksumError(f"The channel lists {record['file_name']} without a sha256; refusing "
                            f"it unverified, use {RELEASE_HINT} or a channel with checksums.")
    if archive.is_file():
        if sha256_file(archive) == expected:
            return archive
        if offline:
            raise ChecksumError(f"The cached {archive} does not match the channel's sha256; "
                                "fetch it again without --offline.")
    elif offline:
        raise MissingBinaryError(
            f"The micromamba package is not in the cache ({archive}); run "
            "'mambaboot micromamba fetch --source channel -c CHANNEL' once while online.")
    progress("download-begin", {"what": record["file_name"], "url": record["url"]})
    with make_client(settings) as client:
        download_verified(record["url"], archive, expected=expected, client=client,
                          settings=settings, progress=progress)
    return archive
