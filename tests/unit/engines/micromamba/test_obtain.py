"""Fetching the micromamba release asset from a 127.0.0.1 server: verified, retried, bounded.

Every test serves a mirror laid out like micromamba-releases
(``{version}/micromamba-{subdir}`` + ``.sha256``) and points
``MAMBABOOT_MICROMAMBA_URL`` at it; nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest

from mambaboot.devchannel import ChannelServer
from mambaboot.engines.micromamba.binary import (
    BinaryInfo,
    binary_path,
    verify_cached,
)
from mambaboot.engines.micromamba.obtain import ensure
from mambaboot.errors import ChecksumError, DownloadError, MissingBinaryError
from mambaboot.locations import Cache
from mambaboot.net import (
    HttpSettings,
    download_verified,
    make_client,
    ssl_context,
)
from tests.support.micromamba_standin import release_tree

VERSION, SUBDIR = "2.0.5-0", "linux-64"
BODY = b"\x7fELF pretend micromamba " + bytes(range(256)) * 400  # ~100 kB
FAST = HttpSettings(connect_timeout=1.0, read_timeout=1.0, attempts=3, backoff=0.01)
ASSET = f"/{VERSION}/micromamba-{SUBDIR}"


@pytest.fixture
def mirror(tmp_path: Path, channel_server: Callable[[Path], ChannelServer],
           monkeypatch: pytest.MonkeyPatch) -> ChannelServer:
    release_tree(tmp_path / "mirror", VERSION, SUBDIR, BODY)
    server = channel_server(tmp_path / "mirror")
    monkeypatch.setenv("MAMBABOOT_MICROMAMBA_URL", server.url)
    return server


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(root=tmp_path / "cache", pkgs=tmp_path / "cache" / "pkgs")


def fetch(cache: Cache, **kw: Any) -> BinaryInfo:
    return ensure(cache, version=VERSION, subdir=SUBDIR, settings=FAST, **kw)


def assert_nothing_cached(cache: Cache) -> None:
    folder = binary_path(cache, VERSION, SUBDIR).parent
    left = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    assert left == [], f"a refused download left {left}"


def test_good_binary_is_cached_and_reused_without_a_second_request(
        mirror: ChannelServer, cache: Cache) -> None:
    info = fetch(cache)
    assert info.downloaded and info.path == binary_path(cache, VERSION, SUBDIR)
    assert info.path.read_bytes() == BODY and info.sha256 == hashlib.sha256(BODY).hexdigest()
    assert info.path.stat().st_mode & 0o111
    assert info.url == mirror.url + ASSET and info.source == "release"
    again = fetch(cache)
    assert not again.downloaded and again.path == info.path
    assert mirror.count(ASSET) == 1 and mirror.count(ASSET + ".sha256") == 1


def test_wrong_checksum_is_refused_with_both_digests_and_nothing_cached(
        mirror: ChannelServer, cache: Cache, tmp_path: Path) -> None:
    wrong = "0" * 64
    (tmp_path / "mirror" / VERSION / f"micromamba-{SUBDIR}.sha256").write_text(wrong)
    with pytest.raises(ChecksumError) as err:
        fetch(cache)
    assert wrong in err.value.message and hashlib.sha256(BODY).hexdigest() in err.value.message
    assert_nothing_cached(cache)


@pytest.mark.parametrize("content", [None, "", "   \n", "not-a-digest", "abc123"],
                         ids=["missing", "empty", "blank", "garbage", "short"])
def test_missing_or_empty_checksum_is_refused(
        mirror: ChannelServer, cache: Cache, tmp_path: Path, content: str | None) -> None:
    checksum = tmp_path / "mirror" / VERSION / f"micromamba-{SUBDIR}.sha256"
    if content is None:
        checksum.unlink()
    else:
        checksum.write_text(content)
    with pytest.raises(ChecksumError, match="--micromamba-sha256"):
        fetch(cache)
    assert mirror.count(ASSET) == 0, "the binary must not even be downloaded"
    assert_nothing_cached(cache)


def test_pin_is_used_instead_of_the_checksum_file_and_a_wrong_pin_is_refused(
        mirror: ChannelServer, cache: Cache, tmp_path: Path) -> None:
    (tmp_path / "mirror" / VERSION / f"micromamba-{SUBDIR}.sha256").unlink()
    with pytest.raises(ChecksumError, match="expected 1111"):
        fetch(cache, pin="1" * 64)
    assert_nothing_cached(cache)
    info = fetch(cache, pin=hashlib.sha256(BODY).hexdigest().upper())
    assert info.path.read_bytes() == BODY


def test_server_errors_twice_then_ok_succeeds_after_retries(
        mirror: ChannelServer, cache: Cache) -> None:
    mirror.faults.fail(ASSET, status=500, times=2)
    mirror.faults.fail(ASSET + ".sha256", status=503, times=2)
    events: list[str] = []
    info = fetch(cache, progress=lambda e, d: events.append(e))
    assert info.path.read_bytes() == BODY
    assert mirror.count(ASSET) == 3 and mirror.count(ASSET + ".sha256") == 3
    assert events.count("download-retry") == 4


def test_persistent_server_errors_give_up_with_a_clear_message(
        mirror: ChannelServer, cache: Cache) -> None:
    mirror.faults.fail(ASSET, status=500, times=None)
    with pytest.raises(DownloadError, match=r"after 3 attempts \(HTTP 500\)"):
        fetch(cache)
    assert_nothing_cached(cache)


def test_not_found_is_not_retried(mirror: ChannelServer, cache: Cache) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        ensure(cache, version="9.9.9-0", subdir=SUBDIR, settings=FAST,
               pin="2" * 64)
    assert mirror.count("/9.9.9-0/*") == 1


def test_body_cut_short_once_is_restarted(mirror: ChannelServer, cache: Cache) -> None:
    mirror.faults.truncate(ASSET, after_bytes=1000, times=1)
    info = fetch(cache)
    assert info.path.read_bytes() == BODY
    assert mirror.count(ASSET) == 2


def test_body_always_cut_short_is_refused_and_nothing_cached(
        mirror: ChannelServer, cache: Cache) -> None:
    mirror.faults.truncate(ASSET, after_bytes=1000)
    with pytest.raises(DownloadError, match="cut short"):
        fetch(cache)
    assert_nothing_cached(cache)


def test_server_that_never_answers_times_out_in_bounded_time(
        mirror: ChannelServer, cache: Cache) -> None:
    mirror.faults.delay(ASSET + ".sha256", seconds=30)
    started = time.monotonic()
    with pytest.raises(DownloadError, match="ReadTimeout"):
        ensure(cache, version=VERSION, subdir=SUBDIR,
               settings=HttpSettings(connect_timeout=0.5, read_timeout=0.5, attempts=2,
                                     backoff=0.01))
    assert time.monotonic() - started < 5
    assert_nothing_cached(cache)


def test_offline_uses_only_the_cache(mirror: ChannelServer, cache: Cache) -> None:
    with pytest.raises(MissingBinaryError, match="'mambaboot micromamba fetch"):
        fetch(cache, offline=True)
    assert mirror.count("*") == 0
    fetch(cache)
    before = mirror.count("*")
    assert fetch(cache, offline=True).path.read_bytes() == BODY
    assert mirror.count("*") == before


def test_tampered_cached_binary_fails_verify_and_is_replaced_when_online(
        mirror: ChannelServer, cache: Cache) -> None:
    path = fetch(cache).path
    path.write_bytes(b"#!/bin/sh\necho evil\n")
    with pytest.raises(ChecksumError, match="does not match"):
        verify_cached(cache, VERSION, SUBDIR)
    with pytest.raises(ChecksumError):
        fetch(cache, offline=True)  # never run, never silently accepted
    assert fetch(cache).path.read_bytes() == BODY
    assert verify_cached(cache, VERSION, SUBDIR).sha256 == hashlib.sha256(BODY).hexdigest()


class _RangeHandler(BaseHTTPRequestHandler):
    """Serves BODY with Range support; the first full answer is cut short."""

    requests: ClassVar[list[str | None]] = []
    cut = True

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        rng = self.headers.get("Range")
        type(self).requests.append(rng)
        start = int(rng.split("=")[1].rstrip("-")) if rng else 0
        self.send_response(206 if rng else 200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(BODY) - start))
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(BODY) - 1}/{len(BODY)}")
        self.end_headers()
        if type(self).cut and not rng:
            type(self).cut = False
            self.wfile.write(BODY[:5000])
            self.close_connection = True
            return
        self.wfile.write(BODY[start:])


@pytest.fixture
def range_server() -> Iterator[str]:
    _RangeHandler.requests, _RangeHandler.cut = [], True
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/micromamba"
    httpd.shutdown()
    httpd.server_close()


def test_cut_short_body_is_resumed_with_range_when_the_server_allows(
        range_server: str, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "micromamba"
    with make_client(FAST) as client:
        download_verified(range_server, dest, expected=hashlib.sha256(BODY).hexdigest(),
                          client=client, settings=FAST)
    assert dest.read_bytes() == BODY
    assert _RangeHandler.requests == [None, "bytes=5000-"]


class _ProxyHandler(BaseHTTPRequestHandler):
    """A forward proxy: answers absolute-URI requests for the .invalid mirror itself."""

    seen: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        url = urlsplit(self.path)
        body = (hashlib.sha256(BODY).hexdigest().encode() if url.path.endswith(".sha256")
                else BODY)
        self.send_response(200 if url.hostname == "mirror.invalid" else 502)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_http_proxy_from_the_environment_is_used(
        cache: Cache, monkeypatch: pytest.MonkeyPatch) -> None:
    _ProxyHandler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        for var in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{httpd.server_address[1]}")
        monkeypatch.setenv("MAMBABOOT_MICROMAMBA_URL", "http://mirror.invalid/dl")
        assert fetch(cache).path.read_bytes() == BODY
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert _ProxyHandler.seen == [f"http://mirror.invalid/dl{ASSET}.sha256",
                                  f"http://mirror.invalid/dl{ASSET}"]


def test_ssl_cert_file_is_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import certifi

    ctx = ssl_context({"SSL_CERT_FILE": certifi.where()})
    assert len(ctx.get_ca_certs()) > 50
    with pytest.raises(OSError):
        ssl_context({"SSL_CERT_FILE": str(tmp_path / "missing.pem")})
    assert ssl_context({}).verify_mode.name == "CERT_REQUIRED"  # OS store via truststore
