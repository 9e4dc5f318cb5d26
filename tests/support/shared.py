"""Build an expensive artefact once per test run, however many pytest-xdist workers ask.

The pattern documented by pytest-xdist: every worker's ``basetemp`` is a folder
under the controller's, so ``getbasetemp().parent`` is one folder for the whole
run; a file lock there makes the first worker build and the others wait, then
reuse. Without xdist (``-n 0``, or ``-p no:xdist``) the session's own
``basetemp`` is used, so separate runs never share.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

#: Suffix of the marker written beside a successful build; no marker means "build (again)".
DONE = ".built"


def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder shared by every worker of this run (the session basetemp without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def lock_for(path: Path) -> FileLock:
    """An inter-process lock beside ``path`` (``path.lock``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path.with_name(path.name + ".lock")))


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str,
                 build: Callable[[Path], None]) -> Path:
    """``run_dir/name``, made by ``build(folder)`` by the first worker that gets here.

    A build that raised leaves no marker, so the next worker tries again (and
    fails the same way, as the failing fixture would have without xdist).
    """
    folder = run_dir(tmp_path_factory) / name
    done = folder.with_name(name + DONE)
    with lock_for(folder):
        if not done.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            build(folder)
            done.write_text("ok\n", encoding="utf-8")
    return folder
