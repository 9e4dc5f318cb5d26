"""Verified downloads: the only way a file from the network enters the cache.

A binary we are about to execute must be exactly the published one, so every
download is fail-closed: it streams into a temp file beside its destination,
its sha256 is compared with a digest we already hold (never "warn and carry
on"), and only then is it renamed into place atomically. A half-written,
truncated or tampered file is deleted, never cached.

Networks in the field are flaky and often proxied, so requests honour the
standard variables (``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``,
``SSL_CERT_FILE``/``SSL_CERT_DIR``; otherwise the OS trust store through
truststore), have a connect/read timeout, and are retried with exponential
backoff on connection errors, timeouts, 5xx answers and bodies cut short.
A cut-short body is resumed with a Range request when the server allows it
and restarted from zero otherwise.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import ssl
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

import httpx

from mambaboot import __version__
from mambaboot.errors import ChecksumError, DownloadError
from mambaboot.events import ProgressCallback, no_progress
from mambaboot.fsutil import file_digest, path_of_file_url
from mambaboot.objectstore import is_object_url

T = TypeVar("T")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class _Retry(Exception):
    """Internal: this attempt failed in a way worth retrying."""


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts and retry policy; ``MAMBABOOT_HTTP_TIMEOUT``/``_RETRIES`` override them."""

    connect_timeout: float = 15.0
    read_timeout: float = 60.0
    attempts: int = 4           # first try + 3 retries
    backoff: float = 0.5        # seconds before the first retry; doubles each time

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HttpSettings:
        env = os.environ if environ is None else environ
        base = cls()
        try:
            timeout = float(env.get("MAMBABOOT_HTTP_TIMEOUT", "") or 0)
            retries = int(env.get("MAMBABOOT_HTTP_RETRIES", "") or -1)
        except ValueError:
            raise DownloadError("MAMBABOOT_HTTP_TIMEOUT must be seconds and MAMBABOOT_HTTP_RETRIES "
                                "a whole number; fix or unset them.") from None
        return cls(connect_timeout=timeout or base.connect_timeout,
                   read_timeout=timeout or base.read_timeout,
                   attempts=retries + 1 if retries >= 0 else base.attempts, backoff=base.backoff)


def ssl_context(environ: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set, else the OS trust store (corporate CAs)."""
    env = os.environ if environ is None else environ
    cafile, capath = env.get("SSL_CERT_FILE") or None, env.get("SSL_CERT_DIR") or None
    if cafile or capath:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    try:
        import truststore
    except ImportError:  # pragma: no cover - truststore is a dependency
        return ssl.create_default_context()
    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def make_client(settings: HttpSettings) -> httpx.Client:
    """One client per operation: proxies from the environment, our timeouts, redirects on."""
    return httpx.Client(
        trust_env=True, verify=ssl_context(), follow_redirects=True,
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        headers={"User-Agent": f"mambaboot/{__version__}"},
    )


def normalize_digest(text: str, source: str) -> str:
    """A checksum file holds a bare hex digest (tolerate ``HEX  filename`` too); else refuse."""
    token = (text.strip().split() or [""])[0].lower()
    if not _HEX64.match(token):
        shown = "it is empty" if not text.strip() else f"got {text.strip()[:80]!r}"
        raise ChecksumError(f"The checksum from {source} is not a sha256 digest ({shown}); "
                            "refusing the download, pass --micromamba-sha256 to pin it yourself.")
    return token


def _retry_loop(what: str, settings: HttpSettings, progress: ProgressCallback,
                attempt_fn: Callable[[], T]) -> T:
    """Run ``attempt_fn()`` until it returns, retrying transient failures with backoff."""
    last = ""
    for attempt in range(1, settings.attempts + 1):
        try:
            return attempt_fn()
        except _Retry as exc:
            last = str(exc)
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
        if attempt < settings.attempts:
            delay = settings.backoff * 2 ** (attempt - 1)
            progress("download-retry", {"url": what, "attempt": attempt, "reason": last,
                                        "delay": delay})
            time.sleep(delay)
    raise DownloadError(
        f"Could not download {what} after {settings.attempts} attempts ({last}); check the "
        "network and HTTPS_PROXY, then run the same command again.")


def _object_attempt(url: str, tmp: Path) -> None:
    from mambaboot.errors import ObjectFetchError
    from mambaboot.objectstore import fetch

    try:
        fetch(url, tmp)
    except ObjectFetchError as exc:
        raise _Retry(str(exc)) from None


def _status_error(response: httpx.Response) -> DownloadError:
    return DownloadError(f"The server answered HTTP {response.status_code} for {response.url}; "
                         "check the version and the mirror URL (MAMBABOOT_MICROMAMBA_URL).")


def fetch_text(url: str, *, client: httpx.Client, settings: HttpSettings,
               progress: ProgressCallback = no_progress, max_bytes: int = 4096) -> str:
    """GET a small text file (a checksum) with the same retry policy."""
    if urlparse(url).scheme == "file":
        return path_of_file_url(url).read_text(encoding="utf-8", errors="replace")[:max_bytes]

    def attempt() -> str:
        response = client.get(url)
        if response.status_code >= 500:
            raise _Retry(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise _status_error(response)
        return response.content[:max_bytes].decode("utf-8", errors="replace")

    return _retry_loop(url, settings, progress, attempt)


def download_verified(url: str, dest: Path, *, expected: str, client: httpx.Client,
                      settings: HttpSettings, progress: ProgressCallback = no_progress,
                      executable: bool = False, algorithm: str = "sha256") -> str:
    """Download ``url`` to ``dest`` only if its ``algorithm`` digest is ``expected``.

    sha256, except for the md5 of an md5-only @EXPLICIT entry (``algorithm="md5"``,
    which the caller warns about). Returns the digest.
    """
    if algorithm == "sha256":
        expected = normalize_digest(expected, "the expected digest")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if urlparse(url).scheme == "file":
            shutil.copyfile(path_of_file_url(url), tmp)
        elif is_object_url(url):  # s3:// gcs:// oci://: the engine's client, our retries
            _retry_loop(url, settings, progress, lambda: _object_attempt(url, tmp))
        else:
            _Transfer(url, tmp, client, progress).run(settings)
        actual = file_digest(tmp, algorithm)[0]
        if actual != expected:
            raise ChecksumError(
                f"The {algorithm} of {url} does not match: expected {expected}, got {actual}; "
                "the file was discarded (a wrong mirror, a proxy rewriting downloads, or "
                "tampering), nothing was cached.")
        if executable:
            # rwxr-xr-x like any installed program (mkstemp made it 0600); nobody else may write
            os.chmod(tmp, 0o755)  # noqa: S103
        os.replace(tmp, dest)
        return actual
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


class _Transfer:
    """One file's transfer across attempts, remembering how much already arrived."""

    def __init__(self, url: str, tmp: Path, client: httpx.Client,
                 progress: ProgressCallback) -> None:
        self.url, self.tmp, self.client, self.progress = url, tmp, client, progress
        self.have = 0
        self.validator: str | None = None   # ETag/Last-Modified that makes a resume safe

    def run(self, settings: HttpSettings) -> None:
        _retry_loop(self.url, settings, self.progress, self.attempt)

    def attempt(self) -> None:
        headers = {}
        if self.have and self.validator:
            headers = {"Range": f"bytes={self.have}-", "If-Range": self.validator}
        with self.client.stream("GET", self.url, headers=headers) as response:
            if response.status_code >= 500 or response.status_code == 429:
                raise _Retry(f"HTTP {response.status_code}")
            resumed = response.status_code == 206 and response.headers.get(
                "content-range", "").startswith(f"bytes {self.have}-")
            if not resumed:
                if response.status_code != 200:
                    raise _status_error(response)
                self.have = 0  # not resumable: restart from zero
            # Resuming counts decoded bytes, so only when the body is not re-encoded.
            ranges = (response.headers.get("accept-ranges", "").lower() == "bytes" and
                      response.headers.get("content-encoding", "identity") == "identity")
            self.validator = (response.headers.get("etag") or
                              response.headers.get("last-modified")) if ranges else None
            length = response.headers.get("content-length")
            total = self.have + int(length) if length and length.isdigit() else None
            self.progress("download-start", {"url": self.url, "total": total,
                                             "completed": self.have})
            with self.tmp.open("ab" if resumed else "wb") as out:
                try:
                    for chunk in response.iter_bytes():  # as received: a cut keeps what came
                        out.write(chunk)
                        self.have += len(chunk)
                        self.progress("download-progress", {"completed": self.have,
                                                            "total": total})
                except httpx.TransportError as exc:
                    raise _Retry(f"the body was cut short at {self.have} bytes ({exc})") from exc
            if total is not None and self.have != total:
                raise _Retry(f"the body was cut short at {self.have} of {total} bytes")
            self.progress("download-done", {"url": self.url, "completed": self.have})
