"""session.create in-process, with a fake engine in the registry.

No rattler in this process and no engine child; the lockfile step is the real
one (it runs the rattler worker on the fake's conda-meta record).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from mambaboot import engines, session, testhooks
from mambaboot.engines.base import Engine, InstallOutcome
from mambaboot.errors import EngineError
from mambaboot.locations import Cache
from mambaboot.prefix import Prefix, Status
from mambaboot.results import ProgressCallback, no_progress
from mambaboot.spec import CreateRequest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake python is a sh script")


class FakeEngine(Engine):
    """Installs a tiny prefix (a 'python' that answers the smoke test), or fails as told."""

    name = "fake"

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode

    def install(self, request: CreateRequest, prefix: Path, cache: Cache,
                progress: ProgressCallback = no_progress,
                worker: object = None) -> InstallOutcome:
        progress("solve-start", {"specs": request.specs})
        (prefix / "conda-meta").mkdir(parents=True, exist_ok=True)
        (prefix / "bin").mkdir(exist_ok=True)
        if self.mode == "fail":
            raise EngineError("The fake engine failed; retry.", details="half-way")
        if self.mode == "interrupt":
            raise KeyboardInterrupt
        python = prefix / "bin" / "python"
        python.write_text(f"#!/bin/sh\necho 3.12.1\necho '{prefix}'\n", encoding="utf-8")
        python.chmod(0o755)
        record = record_of_python(prefix)
        (prefix / "conda-meta" / "python-3.12.1-h0_0.json").write_text(json.dumps(record))
        return InstallOutcome("0.1", records=[record], channels=tuple(request.channels))


def record_of_python(prefix: Path) -> dict[str, object]:
    """A whole conda-meta record, as an engine writes it (the lockfile is read from it)."""
    url = "https://example.invalid/ch/linux-64/python-3.12.1-h0_0.conda"
    return {"name": "python", "version": "3.12.1", "build": "h0_0", "build_number": 0,
            "subdir": "linux-64", "channel": "https://example.invalid/ch/linux-64", "url": url,
            "fn": "python-3.12.1-h0_0.conda", "sha256": "1" * 64, "md5": "2" * 32, "size": 1,
            "depends": [], "files": ["bin/python"], "requested_spec": "python",
            "paths_data": {"paths_version": 1, "paths": [
                {"_path": "bin/python", "path_type": "hardlink", "sha256": "3" * 64,
                 "size_in_bytes": (prefix / "bin" / "python").stat().st_size}]}}


@pytest.fixture(autouse=True)
def fake_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(engines.ENGINES, "fake", f"{__name__}:FakeEngine")


def create(tmp_path: Path, mode: str, events: list[str] | None = None) -> Path:
    prefix = tmp_path / "root" / "demo"
    seen = events if events is not None else []
    request = CreateRequest("demo", None, channels=("https://example.invalid/ch",),
                            managers=False, pip=False)
    session.create(request, prefix, Cache(tmp_path / "cache", tmp_path / "cache" / "pkgs"),
                   engine="fake", check_shell=False, engine_options={"mode": mode},
                   progress=lambda event, _data: seen.append(event))
    return prefix


def test_success_writes_the_manifest_and_the_env_is_ok(tmp_path: Path) -> None:
    events: list[str] = []
    prefix = create(tmp_path, "ok", events)
    manifest = json.loads((prefix / ".mambaboot" / "env.json").read_text())
    assert (manifest["name"], manifest["engine"], manifest["engine_version"]) == (
        "demo", "fake", "0.1")
    assert manifest["python_version"] == "3.12.1" and manifest["package_count"] == 1
    assert Prefix(prefix).status is Status.OK
    assert events[0] == "solve-start" and "verify" in events
    # the lockfile step: written from the engine's conda-meta record, for any engine,
    # while the smoke test runs (it starts first: its processes take the longest)
    assert events.index("verify") < events.index("lockfile")
    lock = (prefix / ".mambaboot" / "lock.yml").read_text(encoding="utf-8")
    assert "python-3.12.1-h0_0.conda" in lock and "1" * 64 in lock


def test_an_engine_failure_removes_the_prefix_and_is_raised(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="fake engine failed"):
        create(tmp_path, "fail")
    assert not (tmp_path / "root" / "demo").exists()


def test_ctrl_c_in_the_engine_leaves_nothing_usable(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        create(tmp_path, "interrupt")
    prefix = tmp_path / "root" / "demo"
    assert Prefix(prefix).status in (None, Status.INCOMPLETE)
    assert not prefix.exists()


def test_the_verify_stage_pauses_in_this_process_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test hooks run off the events session.create relays (testhooks.STAGES)."""
    marker = tmp_path / "paused"
    monkeypatch.setenv("MAMBABOOT_TEST_PAUSE_AT", "verify")
    monkeypatch.setenv("MAMBABOOT_TEST_PAUSE_FILE", str(marker))
    monkeypatch.setattr(testhooks, "_fired", set())
    paused: list[str] = []

    def release() -> None:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        paused.append(marker.read_text())
        marker.unlink()

    helper = threading.Thread(target=release)
    helper.start()
    create(tmp_path, "ok")
    helper.join()
    assert paused == [f"{os.getpid()}\n"]
    testhooks.on_event("verify")  # a stage fires once per process
    assert not marker.exists()


def test_an_event_a_child_relayed_does_not_fire_again_here(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMBABOOT_TEST_PAUSE_AT", "solve")
    monkeypatch.setenv("MAMBABOOT_TEST_PAUSE_FILE", str(tmp_path / "paused"))
    monkeypatch.setattr(testhooks, "_fired", set())
    testhooks.passed("solve-start")  # what child.run does for the child's events
    testhooks.on_event("solve-start")  # would wait for the marker's deletion otherwise
    assert not (tmp_path / "paused").exists()
