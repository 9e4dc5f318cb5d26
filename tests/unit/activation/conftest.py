"""Fixtures for activation tests: hand-made prefixes under an awkward root."""

from __future__ import annotations

from pathlib import Path

import pytest

from mambaboot import activation
from tests.support.prefixes import AWKWARD_ROOT, make_prefix


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    """A hand-made environment at ``tmp/AWKWARD_ROOT/demo`` with all scripts written."""
    path = make_prefix(tmp_path / AWKWARD_ROOT / "demo")
    activation.prepare(path, "demo")
    return path
