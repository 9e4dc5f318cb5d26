"""Route 2: the micromamba binary from the ``micromamba`` conda package in the local channel.

The demo channel ships micromamba packages laid out like the real ones
(``bin/micromamba``; ``Library/bin/micromamba.exe`` on win-64), so each
platform layout is fetched, verified against repodata and extracted here.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mambaboot.devchannel import MICROMAMBA_VERSION, ChannelServer
from mambaboot.engines.micromamba.binary import BinaryInfo
from mambaboot.engines.micromamba.channel import member_name, split_version
from mambaboot.engines.micromamba.obtain import ensure
from mambaboot.errors import ChecksumError, MissingBinaryError
from mambaboot.locations import Cache
from mambaboot.net import HttpSettings

VERSION = f"{MICROMAMBA_VERSION}-0"
FAST = HttpSettings(connect_timeout=1.0, read_timeout=1.0, attempts=2, backoff=0.01)
LAYOUTS = {"linux-64": "micromamba", "win-64": "micromamba.exe", "osx-arm64": "micromamba"}


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(root=tmp_path / "cache", pkgs=tmp_path / "cache" / "pkgs")


def packaged_binary(channel: Path, subdir: str) -> bytes:
    archive = channel / subdir / f"micromamba-{MICROMAMBA_VERSION}-0.tar.bz2"
    with tarfile.open(archive) as tar:
        member = tar.extractfile(member_name(subdir))
        assert member is not None
        return member.read()


def fetch(cache: Cache, channels: list[str], subdir: str = "linux-64",
          **kw: Any) -> BinaryInfo:
    return ensure(cache, version=VERSION, subdir=subdir, source="channel", channels=channels,
                  settings=FAST, **kw)


@pytest.mark.parametrize("subdir", sorted(LAYOUTS))
def test_each_platform_layout_is_extracted_and_verified(
        cache: Cache, demo_channel: Path, subdir: str) -> None:
    info = fetch(cache, [demo_channel.as_uri()], subdir)
    assert info.path == cache.micromamba / VERSION / subdir / LAYOUTS[subdir]
    assert info.path.read_bytes() == packaged_binary(demo_channel, subdir)
    assert info.source == "channel" and info.url.endswith(f"/{subdir}/micromamba-{VERSION}.tar.bz2")
    assert info.sha256 == hashlib.sha256(info.path.read_bytes()).hexdigest()


def test_over_http_it_is_downloaded_once_then_served_from_the_cache(
        cache: Cache, demo_channel: Path, channel_server: Callable[[Path], ChannelServer]) -> None:
    server = channel_server(demo_channel)
    server.faults.fail("/linux-64/micromamba-*", status=502, times=1)  # retried
    first = fetch(cache, [server.url])
    assert first.downloaded and server.count("/linux-64/micromamba-*") == 2
    again = fetch(cache, [server.url])
    assert not again.downloaded and server.count("/linux-64/micromamba-*") == 2


def test_an_archive_that_does_not_match_repodata_is_refused(
        cache: Cache, demo_channel: Path, tmp_path: Path) -> None:
    channel = tmp_path / "channel"
    shutil.copytree(demo_channel, channel)
    archive = channel / "linux-64" / f"micromamba-{VERSION}.tar.bz2"
    archive.write_bytes(archive.read_bytes() + b"tampered")
    with pytest.raises(ChecksumError, match="expected"):
        fetch(cache, [channel.as_uri()])
    folder = cache.micromamba / VERSION / "linux-64"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_offline_works_from_the_cached_package_and_fails_clearly_without(
        cache: Cache, demo_channel: Path, tmp_path: Path) -> None:
    with pytest.raises(MissingBinaryError, match="micromamba fetch --source channel"):
        fetch(cache, [demo_channel.as_uri()], offline=True)
    info = fetch(cache, [demo_channel.as_uri()])
    info.path.unlink()
    again = fetch(cache, [demo_channel.as_uri()], offline=True)
    assert again.path.read_bytes() == packaged_binary(demo_channel, "linux-64")


def test_a_version_the_channel_lacks_lists_what_it_has(cache: Cache, demo_channel: Path) -> None:
    with pytest.raises(MissingBinaryError, match=f"they have: {VERSION}"):
        ensure(cache, version="9.9.9-0", subdir="linux-64", source="channel",
               channels=[demo_channel.as_uri()], settings=FAST)


def test_pin_applies_to_the_extracted_binary(cache: Cache, demo_channel: Path) -> None:
    with pytest.raises(ChecksumError, match="pin"):
        fetch(cache, [demo_channel.as_uri()], pin="3" * 64)
    good = hashlib.sha256(packaged_binary(demo_channel, "linux-64")).hexdigest()
    assert fetch(cache, [demo_channel.as_uri()], pin=good).sha256 == good


def test_split_version() -> None:
    assert split_version("2.3.3-0") == ("2.3.3", "0")
    assert split_version("2.3.3") == ("2.3.3", None)
    assert split_version("2.0.0rc1-12") == ("2.0.0rc1", "12")
