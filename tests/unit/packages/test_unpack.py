"""The unpackers: the engine's reader in child processes, watched while it unpacks."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import resource
import signal
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard

from mambaboot.errors import EngineError, UnsafePackageError
from mambaboot.fsutil import sha256_file
from mambaboot.packages.limits import Limits
from mambaboot.packages.rules import Contents
from mambaboot.packages.unpack import Job, Unpacker
from tests.unit.packages.test_rules import as_conda, spec, write

MIB = 1 << 20


class Zeros(io.RawIOBase):
    """``n`` zero bytes, streamed: a bomb's payload without holding it in memory."""

    def __init__(self, n: int) -> None:
        self.left = n

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        n = min(len(buf), self.left)
        buf[:n] = bytes(n)
        self.left -= n
        return n


def _tar_zst(members: list[tuple[tarfile.TarInfo, io.RawIOBase | None]]) -> bytes:
    out = io.BytesIO()
    with zstandard.ZstdCompressor().stream_writer(out, closefd=False) as zst, \
            tarfile.open(fileobj=zst, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, data)
    return out.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, io.RawIOBase]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    return info, io.BytesIO(data)


def zstd_bomb(folder: Path, size: int) -> Path:
    """A well-formed .conda whose one listed file is ``size`` zero bytes (a few KiB packed)."""
    index = {"name": "bomb", "version": "1.0", "build": "h0_0", "build_number": 0,
             "depends": [], "subdir": "noarch", "noarch": "generic"}
    paths = {"paths_version": 1, "paths": [{"_path": "share/zeros", "path_type": "hardlink",
                                            "size_in_bytes": size, "sha256": "0" * 64}]}
    zeros = tarfile.TarInfo("share/zeros")
    zeros.size, zeros.mode = size, 0o644
    stem = "bomb-1.0-h0_0"
    path = folder / f"{stem}.conda"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", '{"conda_pkg_format_version": 2}')
        zf.writestr(f"info-{stem}.tar.zst", _tar_zst([
            _file("info/index.json", json.dumps(index).encode()),
            _file("info/paths.json", json.dumps(paths).encode())]))
        zf.writestr(f"pkg-{stem}.tar.zst", _tar_zst([(zeros, Zeros(size))]))
    return path


def job(archive: Path, limits: Limits | None = None, label: str | None = None) -> Job:
    limits = limits or Limits()
    staging = archive.parent / "staging" / archive.name
    staging.parent.mkdir(exist_ok=True)
    return Job(archive, staging, label or archive.name, sha256_file(archive),
               limits.budget(archive.stat().st_size), limits.max_members)


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """RLIMIT_FSIZE for this process and the unpackers it starts (writes past it fail)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def run_all(jobs: list[Job], pkgs: Path) -> dict[str, Contents]:
    got: dict[str, Contents] = {}
    with Unpacker(len(jobs), pkgs) as unpacker:
        unpacker.run(jobs, lambda j, c: got.setdefault(j.label, c))
    return got


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="POSIX only")
def test_a_bomb_is_stopped_while_it_unpacks_not_after(tmp_path: Path) -> None:
    """1 GiB of zeros, a 16 MiB budget: the unpacker is killed long before 256 MiB.

    With writes past 256 MiB failing (RLIMIT_FSIZE), only the watcher can give
    the bomb refusal: an unpack left to run would fail with "File too large".
    """
    bomb = zstd_bomb(tmp_path, 1 << 30)
    tight = job(bomb, Limits(max_unpacked=16 * MIB, max_ratio=0), label="bomb-1.0")
    with file_size_limit(256 * MIB), pytest.raises(UnsafePackageError) as info:
        run_all([tight], tmp_path)
    assert info.value.message.startswith("Refused the package bomb-1.0: it unpacks to more than "
                                         "16 MiB (a decompression bomb?)"), info.value.message
    assert not tight.staging.exists()


def test_unpacks_in_parallel_and_hands_each_tree_over_once(tmp_path: Path) -> None:
    jobs = []
    for i in range(6):
        folder = tmp_path / f"p{i}"
        folder.mkdir()
        archive = write(folder, spec(files={f"lib/f{i}.txt": b"x" * i, "lib/ok.txt": b"ok\n"}))
        jobs.append(job(as_conda(archive) if i % 2 else archive, label=f"p{i}"))
    got: dict[str, Contents] = {}
    seen: dict[str, bytes] = {}

    def done(one: Job, contents: Contents) -> None:  # the tree is there until this returns
        assert one.label not in got
        got[one.label] = contents
        seen[one.label] = (one.staging / "lib" / f"f{one.label[1:]}.txt").read_bytes()

    with Unpacker(len(jobs), tmp_path) as unpacker:
        assert len(unpacker.all) == min(len(jobs), os.cpu_count() or 1, 4)
        unpacker.run(jobs, done)
    assert sorted(got) == [f"p{i}" for i in range(6)]
    for i, one in enumerate(jobs):
        assert f"lib/f{i}.txt" in got[f"p{i}"].entries
        assert seen[f"p{i}"] == b"x" * i
        assert not one.staging.exists()  # handed over, then cleaned up


def test_the_first_refusal_stops_the_rest_and_leaves_no_staging(tmp_path: Path) -> None:
    from mambaboot.devchannel import RawMember

    jobs = []
    for i in range(5):
        folder = tmp_path / f"p{i}"
        folder.mkdir()
        extra = [RawMember("lib/unlisted", data=b"x")] if i == 2 else []
        jobs.append(job(write(folder, spec(raw_members=extra)), label=f"p{i}"))
    done: list[str] = []
    with pytest.raises(UnsafePackageError, match="Refused the package p2: its archive holds "
                                                 "lib/unlisted"), \
            Unpacker(len(jobs), tmp_path) as unpacker:
        unpacker.run(jobs, lambda j, _c: done.append(j.label))
    assert "p2" not in done
    assert not jobs[2].staging.exists()


def test_bytes_that_do_not_match_the_checked_sha256_are_refused(tmp_path: Path) -> None:
    archive = write(tmp_path, spec())
    wrong = Job(archive, tmp_path / "staging", "evil-1.0", hashlib.sha256(b"other").hexdigest(),
                1 << 30, 1000)
    with pytest.raises(UnsafePackageError, match="not the ones whose sha256 was checked"):
        run_all([wrong], tmp_path)
    assert not wrong.staging.exists()


def test_an_unpacker_that_crashes_is_an_engine_error_naming_the_package(tmp_path: Path) -> None:
    archive = write(tmp_path, spec())
    one = job(archive, label="evil-1.0")
    with Unpacker(1, tmp_path) as unpacker:
        os.kill(unpacker.all[0].proc.pid, signal.SIGKILL)
        with pytest.raises(EngineError) as info:
            unpacker.run([one], lambda _j, _c: None)
    assert "The package unpacker crashed (SIGKILL) while unpacking evil-1.0" in info.value.message
    assert not one.staging.exists()


def test_a_member_flood_is_refused_with_the_members_limit(tmp_path: Path) -> None:
    archive = write(tmp_path, spec(files={f"share/f{i}": b"" for i in range(40)}))
    flood = job(archive, Limits(max_members=20), label="flood-1.0")
    with pytest.raises(UnsafePackageError, match="it has more than 20 members"):
        run_all([flood], tmp_path)
