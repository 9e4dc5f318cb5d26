"""Shared test set-up: real channels (channel_fixtures) and a sealed sandbox per test."""

from __future__ import annotations

import pytest

from sandbox import Sandbox

pytest_plugins = ["channel_fixtures"]


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """Empty HOME/XDG/APPDATA dirs and a root with spaces and non-ASCII characters."""
    return Sandbox.make(tmp_path_factory.mktemp("sandbox"))
