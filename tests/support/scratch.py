"""Scratch folders that are removed as soon as their fixture's scope ends.

Why: one full run makes ~1,500 folders, many holding a real environment and its package
cache (~200 MB each). pytest keeps every ``tmp_path_factory.mktemp`` folder until the next
runs, so a single run held ~19 GB at its end and filled a CI machine's disk half way
through (``OSError: [Errno 28] No space left on device``). pyproject.toml sets
``tmp_path_retention_policy = "failed"`` for ``tmp_path``; the folders made here follow
the same rule: removed when the fixture is torn down, kept when a test failed meanwhile
(for a look after the run).
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest


def remove_tree(path: Path) -> None:
    """Delete ``path`` even where a test left folders read-only (the fault tests do)."""

    def writable_then_retry(func: object, name: str, _exc: object) -> None:
        try:
            os.chmod(os.path.dirname(name), stat.S_IRWXU)
            if not os.path.islink(name) and os.path.isdir(name):
                os.chmod(name, stat.S_IRWXU)
            func(name)  # type: ignore[operator]
        except OSError:
            pass  # a leftover file costs disk, never a test result

    if path.exists() or path.is_symlink():
        shutil.rmtree(path, onerror=writable_then_retry)


def scratch_dir(request: pytest.FixtureRequest, factory: pytest.TempPathFactory,
                name: str) -> Path:
    """A new folder from ``factory``, removed when the requesting fixture's scope ends.

    Kept when a test of this worker failed while it existed, like pytest's own
    ``failed`` retention policy, so a failure can still be looked at.
    """
    path = factory.mktemp(name)
    failed_before = request.session.testsfailed

    def drop() -> None:
        if request.session.testsfailed == failed_before:
            remove_tree(path)

    request.addfinalizer(drop)
    return path
