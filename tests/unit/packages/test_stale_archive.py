"""A cached archive that no longer matches what the channel or lock says is replaced, loudly.

A channel that rebuilt a package under the same file name made every create fail
once per package ("run the same command again") before; micromamba and pixi
fetch it afresh. Here the cached copy is replaced in the same run, checked
against the new digest, with one warning per package, never silently.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from mambaboot.errors import HashMismatchError, MissingPackagesError
from mambaboot.packages.fetch import Wanted, ensure_archives


def channel_archive(tmp_path: Path, body: bytes) -> tuple[Path, Wanted]:
    archive = tmp_path / "channel" / "tool-1.0-h0_0.conda"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(body)
    return archive, Wanted("tool", archive.name, archive.as_uri(),
                           hashlib.sha256(body).hexdigest())


def stale_cache(tmp_path: Path) -> Path:
    pkgs = tmp_path / "pkgs"
    pkgs.mkdir()
    (pkgs / "tool-1.0-h0_0.conda").write_bytes(b"the build the channel had before")
    return pkgs


def test_a_rebuilt_package_replaces_its_cached_archive_with_a_warning(tmp_path: Path) -> None:
    _, want = channel_archive(tmp_path, b"the rebuilt package")
    pkgs = stale_cache(tmp_path)
    heard: list[tuple[str, dict[str, Any]]] = []

    got = ensure_archives([want], pkgs, need_archive=True, against="the channel's repodata",
                          progress=lambda event, data: heard.append((event, data)))

    assert got["tool"] == pkgs / want.file_name
    assert got["tool"].read_bytes() == b"the rebuilt package"
    warnings = [d["message"] for e, d in heard if e == "warning"]
    assert len(warnings) == 1
    assert "tool-1.0-h0_0.conda" in warnings[0] and "never used" in warnings[0]


def test_an_unchanged_cached_archive_is_used_without_a_word(tmp_path: Path) -> None:
    _, want = channel_archive(tmp_path, b"same bytes")
    pkgs = tmp_path / "pkgs"
    pkgs.mkdir()
    (pkgs / want.file_name).write_bytes(b"same bytes")
    heard: list[str] = []
    ensure_archives([want], pkgs, need_archive=True, progress=lambda e, d: heard.append(e))
    assert "warning" not in heard


def test_offline_a_stale_copy_is_not_used_and_the_package_is_named_missing(
        tmp_path: Path) -> None:
    pkgs = stale_cache(tmp_path)
    want = Wanted("tool", "tool-1.0-h0_0.conda", "https://conda.example/ch/tool-1.0-h0_0.conda",
                  hashlib.sha256(b"the rebuilt package").hexdigest())
    with pytest.raises(MissingPackagesError, match=r"tool-1\.0-h0_0\.conda"):
        ensure_archives([want], pkgs, offline=True, need_archive=True)


def test_a_replacement_that_does_not_match_either_is_refused(tmp_path: Path) -> None:
    archive, want = channel_archive(tmp_path, b"what the repodata says")
    archive.write_bytes(b"but the channel serves this")
    pkgs = stale_cache(tmp_path)
    with pytest.raises(HashMismatchError, match="does not match"):
        ensure_archives([want], pkgs, need_archive=True, progress=lambda e, d: None)
    assert not (pkgs / want.file_name).exists()


@pytest.mark.parametrize("file_name", ["../../victim/precious-1.0-0.tar.bz2",
                                       "/tmp/victim/abs-1.0-0.tar.bz2",
                                       "..\\victim-1.0-0.conda", "C:victim-1.0-0.conda"])
def test_a_lock_file_name_that_is_a_path_is_refused_before_anything_is_touched(
        tmp_path: Path, file_name: str) -> None:
    """A hostile lock's file_name deleted and rewrote a file outside the cache (attack)."""
    from mambaboot.errors import UnsafePackageError

    victim = tmp_path / "victim" / "precious-1.0-0.tar.bz2"
    victim.parent.mkdir()
    victim.write_bytes(b"precious user data")
    _, want = channel_archive(tmp_path, b"echo PWNED")
    hostile = Wanted("tool", file_name, want.url, want.sha256)
    pkgs = tmp_path / "pkgs" / "a"
    pkgs.mkdir(parents=True)
    for source_dir in (None, tmp_path / "bundle"):
        with pytest.raises(UnsafePackageError, match="file name"):
            ensure_archives([hostile], pkgs, source_dir=source_dir, need_archive=True)
    assert victim.read_bytes() == b"precious user data"
    assert not any(pkgs.iterdir())
