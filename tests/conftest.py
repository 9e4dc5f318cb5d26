"""Shared test set-up: real channels (channel_fixtures) and a sealed sandbox per test."""

from __future__ import annotations

import signal

import pytest

from sandbox import Sandbox

pytest_plugins = ["channel_fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    """Set the signal dispositions the interrupt tests rely on.

    Started with SIGINT ignored (``nohup ... &``, some CI runners), every child
    would inherit SIG_IGN and Python would not even install its Ctrl-C handler
    in it, so the tests that send SIGINT would wait for their timeout. A real
    handler here (not SIG_IGN) is reset to the default in each exec'd child.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """Empty HOME/XDG/APPDATA dirs and a root with spaces and non-ASCII characters."""
    return Sandbox.make(tmp_path_factory.mktemp("sandbox"))
