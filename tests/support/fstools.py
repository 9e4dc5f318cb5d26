"""Real-filesystem helpers shared by the prefix, remove, fsutil and fault tests.

Imported by name (``from fstools import ...``), like ``sandbox``: a second
``conftest`` module could not be imported by name without shadowing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mambaboot.prefix import Prefix


def unshare_works() -> bool:
    """Whether this machine lets us mount in a private namespace (``unshare -rm``)."""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs none /mnt"],
                           capture_output=True, check=False)
    return probe.returncode == 0


def stuck_rmdir(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make ``os.rmdir`` of folders called ``name`` fail as a folder in use does."""
    real_rmdir = os.rmdir

    def rmdir(path: str | os.PathLike[str], *, dir_fd: int | None = None) -> None:
        # dir_fd: shutil.rmtree calls it so, and pytest's own clean-up may run
        # while this stand-in is still in place
        if Path(path).name == name:
            raise PermissionError(13, "in use", str(path))
        real_rmdir(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "rmdir", rmdir)


@pytest.fixture(autouse=True)
def scratch_cwd(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                monkeypatch: pytest.MonkeyPatch) -> None:
    """A deletion walk that wrongly falls back to '.' (``os.scandir(None)``) empties only this.

    Autouse in every module that imports it. ``tmp_path`` is asked for before
    ``monkeypatch`` so that it is torn down after it: pytest removes a passing
    test's ``tmp_path`` (retention policy ``failed``) with the real ``os.rmdir``,
    not with a test's stuck stand-in.
    """
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


def make_env(path: Path, *, creating: bool = False, with_bin: bool = False) -> Prefix:
    """A minimal environment mambaboot would call its own (manifest, optional marker)."""
    prefix = Prefix(path)
    prefix.write_manifest({"name": path.name})
    if with_bin:
        (path / "bin").mkdir()
        (path / "bin" / "python").write_text("#!/bin/sh\n")
    if creating:
        prefix.creating_marker.write_text("pid 1\n")
    return prefix
