"""The CLI side of the engine worker protocol (engines/rattler.run_worker)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mambaboot.engines.rattler import engine


def test_a_worker_that_writes_a_lot_to_stderr_does_not_block(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Engine warnings beyond a pipe buffer must not deadlock the CLI and the worker."""
    fake = tmp_path / "worker.py"
    done = {"event": "done", "records": [], "engine_version": "x", "channels": []}
    fake.write_text(
        "import sys\n"
        "sys.stdin.read()\n"
        "for i in range(4000):\n"
        "    sys.stderr.write('warning: ' + 'x' * 90 + '\\n')\n"
        "sys.stderr.flush()\n"
        f"print({json.dumps(json.dumps(done))}, flush=True)\n")
    launcher = tmp_path / "python"
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} {fake}\n")
    launcher.chmod(0o755)
    monkeypatch.setattr(engine.child.sys, "executable", str(launcher))
    outcome = engine.run_worker({"op": "noop"}, lambda *_: None)
    assert outcome.engine_version == "x"
