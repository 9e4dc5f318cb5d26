"""Locks and taken-back folders: nothing may outlive its use, and nothing in use is removed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mambaboot.envlock import IN_USE, LOCK_DIR, _open_locked, claimed_dir, env_lock, lock_path
from mambaboot.errors import BusyError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock semantics (POSIX)")


class Boom(Exception):
    pass


def test_a_released_lock_leaves_no_file_and_no_folder(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    with env_lock(prefix):
        assert lock_path(prefix).is_file()
        with pytest.raises(BusyError, match=str(prefix)), env_lock(prefix):
            pass
        assert lock_path(prefix).is_file()  # the refused one did not delete the holder's file
    assert not (tmp_path / LOCK_DIR).exists()


def test_the_lock_folder_stays_while_another_environment_is_locked(tmp_path: Path) -> None:
    with env_lock(tmp_path / "a"):
        with env_lock(tmp_path / "b"):
            pass
        assert sorted(p.name for p in (tmp_path / LOCK_DIR).iterdir()) == ["a.lock"]
    assert list(tmp_path.iterdir()) == []


def test_a_lock_on_a_file_deleted_by_its_holder_is_not_a_lock(tmp_path: Path) -> None:
    """The race the deletion opens: we opened the old file, the holder deleted it and left."""
    prefix = tmp_path / "env"
    path = lock_path(prefix)
    path.parent.mkdir()
    stale = os.open(path, os.O_RDWR | os.O_CREAT)
    path.unlink()  # what a releasing holder does
    path.write_text("")  # and a newcomer already made a new one
    try:
        with env_lock(prefix):
            held = os.stat(path)
            assert (held.st_ino, held.st_dev) != (os.fstat(stale).st_ino, os.fstat(stale).st_dev)
    finally:
        os.close(stale)


def test_a_failed_user_takes_back_the_folder_it_made(tmp_path: Path) -> None:
    cache = tmp_path / "new" / "cache"
    with pytest.raises(Boom), claimed_dir(cache):
        (cache / "pkgs").mkdir()
        raise Boom
    assert not (tmp_path / "new").exists()


def test_a_folder_someone_else_uses_is_not_taken_back(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(Boom), claimed_dir(cache):
        other = _open_locked(cache / IN_USE, exclusive=False)  # a second create, in the cache
        raise Boom
    try:
        assert (cache / IN_USE).is_file()
    finally:
        os.close(other)


def test_a_folder_that_existed_or_a_success_is_kept(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with claimed_dir(cache):
        pass
    assert cache.is_dir()
    with pytest.raises(Boom), claimed_dir(cache):
        raise Boom
    assert cache.is_dir()


def test_a_folder_the_error_points_into_is_kept(tmp_path: Path) -> None:
    from mambaboot.errors import MambabootError

    cache = tmp_path / "cache"
    log = cache / "micromamba" / "logs" / "create.log"
    with pytest.raises(MambabootError), claimed_dir(cache):
        log.parent.mkdir(parents=True)
        log.write_text("why it failed")
        raise MambabootError(f"micromamba create failed; the whole log is {log}.")
    assert log.read_text() == "why it failed"
