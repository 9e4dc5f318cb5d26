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

    def rmdir(path: str | os.PathLike[str]) -> None:
        if Path(path).name == name:
            raise PermissionError(13, "in use", str(path))
        real_rmdir(path)

    monkeypatch.setattr(os, "rmdir", rmdir)
