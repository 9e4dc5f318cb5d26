"""Getting a verified micromamba binary: the cache first, else route 1 or route 2.

Route 1 (``release``) is here; route 2 (``channel``, the conda package) is in
``channel``. Both end in ``binary.write_origin``; ``binary`` itself knows the
pins and the cache layout and never fetches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mambaboot.engines.micromamba.binary import (
    MICROMAMBA_VERSION,
    SOURCES,
    BinaryInfo,
    binary_path,
    check_subdir,
    check_version,
    current_subdir,
    read_origin,
    release_url,
    require_cached,
    verify_cached,
    write_origin,
)
from mambaboot.errors import ChecksumError, DownloadError, MambabootError, UsageError
from mambaboot.events import ProgressCallback, no_progress
from mambaboot.locations import Cache

if TYPE_CHECKING:
    from mambaboot.net import HttpSettings


def ensure(cache: Cache, *, version: str = MICROMAMBA_VERSION, subdir: str | None = None,
           pin: str | None = None, source: str = "release", channels: Sequence[str] = (),
           offline: bool = False, progress: ProgressCallback = no_progress,
           settings: HttpSettings | None = None) -> BinaryInfo:
    """Return a verified binary: the cached one, or freshly fetched from ``source``."""
    from mambaboot.engines.micromamba.channel import fetch_from_channels  # starts no worker
    from mambaboot.net import HttpSettings

    version, subdir = check_version(version), check_subdir(subdir or current_subdir())
    if source not in SOURCES:
        raise UsageError(f"Unknown micromamba source {source!r}; choose release or channel.")
    if read_origin(cache, version, subdir) is not None:
        try:
            return verify_cached(cache, version, subdir, pin)
        except ChecksumError:
            if offline:
                raise
            progress("download-replace", {"path": str(binary_path(cache, version, subdir))})
    elif offline and source == "release":
        require_cached(cache, version, subdir)  # raises MissingBinaryError naming fetch
    settings = settings or HttpSettings.from_env()
    if source == "channel":
        return fetch_from_channels(cache, version=version, subdir=subdir, pin=pin,
                                   channels=channels, offline=offline, progress=progress,
                                   settings=settings)
    return fetch_release(cache, version=version, subdir=subdir, pin=pin, progress=progress,
                         settings=settings)


def fetch_release(cache: Cache, *, version: str, subdir: str, pin: str | None,
                  progress: ProgressCallback, settings: HttpSettings) -> BinaryInfo:
    """Route 1: the release asset, checked against its ``.sha256`` (or the explicit pin)."""
    from mambaboot.net import (
        download_verified,
        fetch_text,
        make_client,
        normalize_digest,
    )

    url = release_url(version, subdir)
    dest = binary_path(cache, version, subdir)
    with make_client(settings) as client:
        if pin:
            expected, checksum_from = normalize_digest(pin, "--micromamba-sha256"), "pinned"
        else:
            checksum_url = f"{url}.sha256"
            try:
                text = fetch_text(checksum_url, client=client, settings=settings,
                                  progress=progress)
            except MambabootError as exc:
                reason = exc.message.rstrip(".")
                raise ChecksumError(
                    f"The checksum file {checksum_url} could not be read ({reason}); refusing "
                    "to download micromamba unverified, pass --micromamba-sha256 "
                    "to pin the digest yourself.") from exc
            expected, checksum_from = normalize_digest(text, checksum_url), checksum_url
        progress("download-begin", {"what": f"micromamba {version} ({subdir})", "url": url})
        try:
            sha = download_verified(url, dest, expected=expected, client=client,
                                    settings=settings, progress=progress, executable=True)
        except ChecksumError:
            raise  # a mismatch says what it is; the advice below is for the network
        except DownloadError as exc:
            raise DownloadError(
                f"{exc.message.rstrip('.')}; or point MAMBABOOT_MICROMAMBA_URL at a mirror, or "
                "give a binary you have (export --micromamba FILE, micromamba fetch --source "
                "channel).") from exc
    return write_origin(dest, version, subdir, sha256=sha, source="release", url=url,
                        checksum=checksum_from)
