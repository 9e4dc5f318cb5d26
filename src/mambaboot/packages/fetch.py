"""Package archives: streaming hashes and verified fetches into the cache.

A lockfile is only worth something if every byte that gets linked matches the
sha256 it names. Archives are fetched to a temp file, hashed while streaming,
and renamed into place only when the digest matches; a mismatching copy
already in the cache is deleted (so the next run fetches it afresh) and the
create stops before anything is linked.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mambaboot.errors import (
    ChecksumError,
    DownloadError,
    HashMismatchError,
    MambabootError,
    MissingPackagesError,
)
from mambaboot.events import ProgressCallback, no_progress
from mambaboot.fsutil import file_digest, path_of_file_url
from mambaboot.packages.rules import check_file_name

CHUNK = 1 << 20
PARALLEL_DOWNLOADS = 6
#: rattler's cache writes ``NAME-VERSION-BUILD.lock``: 8 bytes revision + 32 bytes sha256.
_RATTLER_LOCK_SIZE = 40

# Progress events: ``fetch-start`` {count}, ``fetch-bytes`` {n} per chunk received
# over HTTP, ``fetched`` {name} per archive. Downloads run in threads, so the
# callback must be thread-safe.

@dataclass(frozen=True)
class Wanted:
    """One archive a lockfile asks for, by sha256 (or, from an md5-only @EXPLICIT file,
    by md5 alone: ``sha256`` is then empty)."""

    name: str
    file_name: str
    url: str
    sha256: str
    md5: str = ""

    @property
    def check(self) -> tuple[str, str]:
        """``(algorithm, expected hex digest)``: sha256 whenever the lock gives one."""
        return ("sha256", self.sha256) if self.sha256 else ("md5", self.md5)

    @property
    def dist(self) -> str:
        """``NAME-VERSION-BUILD``: the archive name without .conda/.tar.bz2."""
        for ext in (".conda", ".tar.bz2"):
            if self.file_name.endswith(ext):
                return self.file_name[: -len(ext)]
        return self.file_name


def rattler_cached_sha256(pkgs: Path, dist: str, fd: int | None = None) -> str | None:
    """The sha256 rattler recorded when it extracted ``dist`` into the cache (None if absent).

    ``fd``: the lock file, already open (and locked) by the caller, read through.
    """
    try:
        if fd is not None:
            os.lseek(fd, 0, os.SEEK_SET)
            data = os.read(fd, _RATTLER_LOCK_SIZE + 1)
        else:
            data = (pkgs / f"{dist}.lock").read_bytes()
    except OSError:
        return None
    if len(data) != _RATTLER_LOCK_SIZE or not (pkgs / dist / "info").is_dir():
        return None
    return data[8:].hex()


def _mismatch(want: Wanted, actual: str, where: str,
              against: str = "the lockfile") -> HashMismatchError:
    algorithm, expected = want.check
    return HashMismatchError(
        f"The archive of {want.name} ({want.file_name}) from {where} does not match {against} "
        f"(expected {algorithm} {expected}, got {actual}); nothing was installed, check the "
        "channel or mirror (a corrupt cached copy was deleted, so a retry fetches it afresh).")


def _copy_verified(source: Path, want: Wanted, dest: Path, where: str,
                   against: str = "the lockfile") -> Path:
    tmp = dest.with_name(f".{dest.name}.{os.urandom(16).hex()}.part")
    algorithm, expected = want.check
    digest = hashlib.new(algorithm, usedforsecurity=algorithm != "md5")
    try:
        with source.open("rb") as src, tmp.open("wb") as out:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected:
            raise _mismatch(want, digest.hexdigest(), where, against)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _download_verified(url: str, want: Wanted, dest: Path, *,
                       against: str = "the lockfile",
                       progress: ProgressCallback = no_progress,
                       client: Any = None) -> Path:
    """Fetch one archive through the one HTTP path (``engines/download.py``).

    Retries with backoff on connection errors, timeouts, 5xx and cut-short
    bodies (resumed with Range when the server allows), honours HTTPS_PROXY,
    SSL_CERT_FILE / the OS trust store and MAMBABOOT_HTTP_*; the file is renamed
    into the cache only when its sha256 is the expected one.
    """
    from mambaboot.net import HttpSettings, download_verified, make_client

    settings = HttpSettings.from_env()
    own = client is None
    client = client or make_client(settings)
    seen = [0]

    def relay(event: str, data: dict[str, Any]) -> None:
        if event == "download-progress":  # cumulative per transfer -> increments
            done = int(data.get("completed") or 0)
            if done > seen[0]:
                progress("fetch-bytes", {"n": done - seen[0]})
            seen[0] = done
        elif event == "download-retry":
            progress(event, data)

    algorithm, expected = want.check
    try:
        download_verified(url, dest, expected=expected, algorithm=algorithm, client=client,
                          settings=settings, progress=relay)
    except ChecksumError as exc:
        got = re.search(r"got ([0-9a-f]{32,64})", exc.message)
        raise _mismatch(want, got.group(1) if got else "another digest", url, against) from None
    except DownloadError as exc:
        reason = exc.message.split("; ", 1)[0].rstrip(".")
        raise MambabootError(
            f"{reason} ({want.file_name}); check the channel URL, the network and HTTPS_PROXY, "
            "or use --offline with a filled cache.") from None
    finally:
        if own:
            client.close()
    progress("fetched", {"name": want.name})
    return dest


def local_path(url: str) -> Path | None:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return path_of_file_url(url)
    if not parsed.scheme:
        return Path(url)
    return None


def ensure_archives(wanted: Iterable[Wanted], pkgs: Path, *, offline: bool = False,  # noqa: PLR0912 - a branch per source
                    source_dir: Path | None = None,
                    need_archive: bool = False,
                    against: str = "the lockfile",
                    progress: ProgressCallback = no_progress) -> dict[str, Path | None]:
    """Make every wanted archive available and verified; map name -> archive (or None).

    None means "rattler's extracted copy in the cache already carries this
    sha256", which is as good as the archive and needs no bytes moved.
    ``source_dir`` (a bundle) is used instead of the URLs; ``against`` names where the
    expected sha256 came from, for the error message. ``progress`` hears of every
    archive made available and of the bytes downloaded (a cold create spends
    seconds here, which must not look like a hang).
    """
    wanted = list(wanted)
    for want in wanted:  # a lock's "../../x.conda" must never reach the file system
        check_file_name(want.file_name)
    progress("fetch-start", {"count": len(wanted)})
    pkgs.mkdir(parents=True, exist_ok=True)
    result: dict[str, Path | None] = {}
    missing: list[Wanted] = []
    downloads: list[Wanted] = []
    for want in wanted:
        archive = pkgs / want.file_name
        with contextlib.suppress(FileNotFoundError):
            mode = os.lstat(archive).st_mode
            if stat.S_ISDIR(mode):
                raise MambabootError(
                    f"The package cache holds a folder where the archive {want.file_name} "
                    f"belongs ({archive}); move or delete that folder and run the same command "
                    "again.")
            if not stat.S_ISREG(mode):
                archive.unlink()  # a symlink or special file is never ours to read: fetch afresh
        if archive.is_file() and _stale(archive, want, against, offline, progress):
            archive.unlink()  # fetched afresh below, from the bundle, the channel or the URL
        if archive.is_file():
            result[want.name] = archive
        elif source_dir is not None:
            src = source_dir / want.file_name
            if not src.is_file():
                raise MissingPackagesError(
                    f"The bundle has no {want.file_name}; rebuild it with 'mambaboot bundle'.")
            result[want.name] = _copy_verified(src, want, archive, f"the bundle ({src})")
        elif not need_archive and rattler_cached_sha256(pkgs, want.dist) == want.sha256:
            result[want.name] = None
        elif (path := local_path(want.url)) is not None:
            # a local directory or file:// channel needs no network: --offline uses it too
            if not path.is_file():
                raise MambabootError(f"The archive {path} named by the lockfile does not exist; "
                                     "check that the channel directory is still there.")
            result[want.name] = _copy_verified(path, want, archive, str(path), against)
        elif offline:
            missing.append(want)
        else:
            downloads.append(want)
        if want.name in result:
            progress("fetched", {"name": want.name})
    if downloads and not missing:
        result.update(_download_all(downloads, pkgs, against, progress))
    if missing:
        names = ", ".join(w.file_name for w in missing)
        raise MissingPackagesError(
            f"--offline, but {len(missing)} package(s) are not in the cache ({names}); run the "
            "same command once without --offline, or create from a bundle (mambaboot bundle).")
    return result


def _stale(archive: Path, want: Wanted, against: str, offline: bool,
           progress: ProgressCallback) -> bool:
    """Does the cached archive differ from what ``against`` now says? (said, never silent)

    The cached copy was verified when it was cached; a channel that rebuilt a
    package under the same file name (or a damaged copy) makes it differ now.
    Like micromamba and pixi, the package is then fetched afresh and checked
    against the new digest, in this run, with one warning per package: a
    create of many rebuilt packages must not take one failed run per package.
    """
    algorithm, expected = want.check
    actual = file_digest(archive, algorithm)[0]
    if actual == expected:
        return False
    progress("warning", {"message": (
        f"The cached archive of {want.name} ({want.file_name}) does not match {against} "
        f"(cached {algorithm} {actual[:12]}..., expected {expected[:12]}...): the channel "
        "rebuilt it or the copy was damaged; that copy was deleted and is never used"
        + (" (--offline: a local channel or the bundle must provide the package)." if offline
           else ", the package is fetched again and checked."))})
    return True


def _download_all(wanted: list[Wanted], pkgs: Path, against: str,
                  progress: ProgressCallback = no_progress) -> dict[str, Path | None]:
    """Fetch over HTTP a few at a time: one-by-one made cold creates ~2x rattler's time.

    Each download still lands in its own temp file and is renamed only when its
    sha256 matches, so a failure in one leaves no half file and the first error
    is the one raised.
    """
    from concurrent.futures import ThreadPoolExecutor

    from mambaboot.net import HttpSettings, make_client

    # one client (connection pool, proxies, trust store) shared by the threads
    with make_client(HttpSettings.from_env()) as client, ThreadPoolExecutor(
            max_workers=min(PARALLEL_DOWNLOADS, len(wanted))) as pool:
        futures = {w.name: pool.submit(_download_verified, w.url, w, pkgs / w.file_name,
                                       against=against, progress=progress, client=client)
                   for w in wanted}
        return {name: future.result() for name, future in futures.items()}


def copy_into(archives: Iterable[Path], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for archive in archives:
        shutil.copy2(archive, folder / archive.name)
