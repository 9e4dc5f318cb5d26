"""The ``fetch`` test stage: Ctrl-C while our own fetch downloads the archives over HTTP."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.integration.test_faults import start_create, statuses, wait_for
from tests.support.sandbox import Sandbox


def test_ctrl_c_in_our_own_fetch_leaves_nothing_and_the_next_create_works(
        sandbox: Sandbox, demo_channel_url: str, tmp_path: Path) -> None:
    cache = tmp_path / "cold cache"
    pause = tmp_path / "paused"
    proc = start_create(sandbox, "f", demo_channel_url, "fetch", pause,  # type: ignore[arg-type]
                        "--cache", str(cache))
    wait_for(pause, proc)
    # paused in the engine child (its fetch-start event), before any archive arrived
    assert int(pause.read_text()) != proc.pid
    assert not [p for p in (cache / "pkgs").glob("*") if p.name.endswith((".conda", ".bz2"))]
    os.killpg(proc.pid, signal.SIGINT)
    proc.communicate(timeout=60)
    pause.unlink(missing_ok=True)
    assert proc.returncode == 130
    assert not (sandbox.root / "f").exists()
    sandbox.run("create", "f", "--no-managers", "--with", "demo-tool", "-c", demo_channel_url,
                "--cache", str(cache), check=True)
    assert statuses(sandbox)["f"] == "ok"
