"""Reading a lock never drops what it cannot install: inexact PyPI entries refused, other
envs named."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import rattler

from mambaboot.devchannel.archive import write_package
from mambaboot.devchannel.spec import PackageSpec
from mambaboot.engines.rattler import lockrecords
from mambaboot.errors import LockFormatError
from mambaboot.platforms import current_subdir

WHEEL = ("https://files.pythonhosted.org/packages/00/11/requests-2.32.3-py3-none-any.whl"
         "#sha256=" + "ab" * 32)


def conda_record(tmp_path: Path) -> rattler.RepoDataRecord:
    """A real record of a small package built here (a lock's environment needs one)."""
    archive = write_package(PackageSpec("tool", "1.0", files={"lib/tool.txt": b"x\n"}),
                            tmp_path / "channel")
    record = asyncio.run(rattler.RepoDataRecord.from_package_archive(archive))
    record.url = f"https://conda.example/ch/{archive.parent.name}/{archive.name}"
    return record


def lock_with(tmp_path: Path, *, pypi: bool = False, envs: tuple[str, ...] = ("default",)) -> Path:
    platform = rattler.LockPlatform(current_subdir())
    lock = rattler.LockFile([platform])
    record = conda_record(tmp_path)
    for env in envs:
        lock.set_channels(env, [rattler.LockChannel("https://conda.example/ch")])
        lock.add_conda_package(env, platform, record)
        if pypi:
            lock.add_pypi_package(env, platform, "requests", "2.32.3", WHEEL)
    path = tmp_path / "pixi.lock"
    lock.to_path(path)
    return path


def test_pypi_entries_without_a_sha256_are_refused_by_name_never_dropped(tmp_path: Path) -> None:
    """rattler writes a pypi entry without a hash: it cannot be installed exactly."""
    with pytest.raises(LockFormatError, match=r"no sha256 for the PyPI package requests"):
        lockrecords.read_lock(lock_with(tmp_path, pypi=True))


def test_pypi_wheels_with_a_sha256_are_read(tmp_path: Path) -> None:
    from mambaboot.pypi import Wheel, add_to_lock

    path = lock_with(tmp_path)
    wheel = Wheel("requests", "2.32.3", WHEEL.partition("#")[0], "ab" * 32, ("idna<4",), ">=3.8")
    add_to_lock(path, [wheel])
    records, _channels, pypi = lockrecords.read_lock(path)
    assert [r.name.normalized for r in records] == ["tool"]
    assert [Wheel.from_json(w) for w in pypi] == [wheel]


def test_a_conda_only_lock_reads(tmp_path: Path) -> None:
    records, channels, pypi = lockrecords.read_lock(lock_with(tmp_path))
    assert pypi == []
    assert [r.name.normalized for r in records] == ["tool"]
    assert channels == ["https://conda.example/ch"]


def test_several_environments_use_default_and_name_the_others(tmp_path: Path) -> None:
    said: list[str] = []
    lockrecords.read_lock(lock_with(tmp_path, envs=("default", "test", "docs")), warn=said.append)
    assert said == ["warning: the lockfile pixi.lock holds 3 environments; installing "
                    "'default' (the others: docs, test; pick one with --environment NAME)."]
    said.clear()
    lockrecords.read_lock(lock_with(tmp_path), warn=said.append)
    assert said == []


def test_environment_picks_one_and_an_unknown_one_is_named(tmp_path: Path) -> None:
    path = lock_with(tmp_path, envs=("default", "test"))
    said: list[str] = []
    records, _channels, _pypi = lockrecords.read_lock(path, warn=said.append,
                                                      environment="test")
    assert [r.name.normalized for r in records] == ["tool"] and said == []
    with pytest.raises(LockFormatError, match=r"has no environment 'docs' \(it has: default, "
                                              r"test\); pick one of those with --environment"):
        lockrecords.read_lock(path, environment="docs")


def installed_prefix(tmp_path: Path) -> Path:
    """A prefix rattler linked for real: one package, one conda-meta record."""
    archive = write_package(PackageSpec("tool", "1.0", files={"lib/tool.txt": b"x\n"}),
                            tmp_path / "channel")
    record = asyncio.run(rattler.RepoDataRecord.from_package_archive(archive))
    record.url = archive.as_uri()
    prefix = tmp_path / "env"
    asyncio.run(rattler.install([record], target_prefix=prefix, cache_dir=tmp_path / "pkgs",
                                show_progress=False, execute_link_scripts=False))
    return prefix


def test_read_ahead_hands_over_what_conda_meta_holds(tmp_path: Path) -> None:
    prefix = installed_prefix(tmp_path)
    early = lockrecords.ReadAhead(prefix).records()
    assert early is not None
    assert [r.name.normalized for r in early] == [
        r.name.normalized for r in lockrecords.prefix_records(prefix)] == ["tool"]


def test_read_ahead_is_dropped_when_conda_meta_changed_after_it_was_read(tmp_path: Path) -> None:
    """The lockfile must describe conda-meta as it is when the lock is written."""
    prefix = installed_prefix(tmp_path)
    ahead = lockrecords.ReadAhead(prefix)
    ahead._thread.join()
    meta = next((prefix / "conda-meta").glob("tool-*.json"))
    meta.write_text(meta.read_text().replace('"version": "1.0"', '"version": "1.1"'))
    assert ahead.records() is None
    assert [str(r.version) for r in lockrecords.prefix_records(prefix)] == ["1.1"]


def test_read_ahead_of_a_prefix_without_conda_meta_gives_nothing(tmp_path: Path) -> None:
    assert lockrecords.ReadAhead(tmp_path / "missing").records() is None
