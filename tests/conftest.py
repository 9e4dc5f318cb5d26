"""Shared test set-up: real channels (support.channel_fixtures), wine, a sealed sandbox per test.

Helpers live in ``tests/support`` and are imported as ``tests.support.X`` (see its docstring).
"""

from __future__ import annotations

import signal

import pytest

from tests.support.sandbox import EngineUnderTest, Sandbox, real_micromamba
from tests.support.scratch import scratch_dir

pytest_plugins = ["tests.support.channel_fixtures", "tests.support.wine"]


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


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without interpreter finalisation once pytest has reported everything.

    The suite drives py-rattler in-process (channel indexing); its runtime threads
    can abort Python's finalisation ("PyGILState_Release ... finalizing", exit 134
    or 139) after every test passed, which would fail CI for nothing. All output
    is written by now; the exit status is pytest's own.
    """
    import os
    import sys

    # only when pytest is the program (pytest / python -m pytest), never when another
    # tool (a mutation tester, an IDE) runs pytest.main() inside its own process
    launcher = os.path.basename(sys.argv[0]) if sys.argv else ""
    standalone = launcher in ("pytest", "py.test") or sys.argv[0].endswith(
        os.path.join("pytest", "__main__.py"))
    if _EXIT_STATUS and standalone and not hasattr(config, "workerinput"):

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """Empty HOME/XDG/APPDATA dirs and a root with spaces and non-ASCII characters.

    Removed after a passing test (support.scratch): each holds a real env and cache.
    """
    return Sandbox.make(scratch_dir(request, tmp_path_factory, "sandbox"))


@pytest.fixture(params=["rattler", "micromamba"])
def engine(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> EngineUnderTest:
    """Each engine in turn: the embedded one, and the REAL micromamba from ../shared.

    The micromamba binary is served from a 127.0.0.1 mirror through the normal,
    sha256-checked download path; without the real binary the case is skipped.
    """
    if request.param == "rattler":
        return EngineUnderTest("rattler", [], {})
    found = real_micromamba(tmp_path_factory.mktemp("micromamba-mirror"))
    if found is None:
        pytest.skip("no real micromamba in ../shared (or MAMBABOOT_TEST_MICROMAMBA)")
    engine, server = found
    request.addfinalizer(server.close)  # type: ignore[attr-defined]
    return engine
