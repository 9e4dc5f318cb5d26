"""Pytest plugin: real local conda channels for the whole suite.

Loaded from conftest with ``pytest_plugins = ["tests.support.channel_fixtures", ...]``.
The demo channel is built once and cached across sessions in pytest's cache dir
(keyed by the builder's sources and the interpreter), so only the first run pays
the few seconds it takes to package Python. A file lock in that cache makes
pytest-xdist workers (and concurrent runs in one checkout) build it once: the
first builds, the others wait and reuse it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mambaboot.devchannel import ChannelServer, build_demo_channel_cached
from tests.support.shared import lock_for, run_dir


def _cache_root(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = getattr(config, "cache", None)
    if cache is not None:  # absent under `-p no:cacheprovider`
        return Path(cache.mkdir("mambaboot-channel"))
    return run_dir(tmp_path_factory) / "mambaboot-channel"


@pytest.fixture(scope="session")
def demo_channel(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the indexed demo channel (python, conda, mamba, demo-* packages).

    Shared by every test: treat it as read-only.
    """
    root = _cache_root(request.config, tmp_path_factory)
    with lock_for(root / "build"):
        return build_demo_channel_cached(root)


@pytest.fixture(scope="session")
def demo_channel_url(demo_channel: Path) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` serving the demo channel for the whole session."""
    with ChannelServer(demo_channel) as server:
        yield server.url


@pytest.fixture
def channel_server() -> Iterator[Callable[[Path], ChannelServer]]:
    """Factory: ``channel_server(path)`` starts a private server with its own `faults`.

    Use it when a test injects faults or counts requests; servers stop at
    test teardown.
    """
    servers: list[ChannelServer] = []

    def start(path: Path) -> ChannelServer:
        server = ChannelServer(path)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
