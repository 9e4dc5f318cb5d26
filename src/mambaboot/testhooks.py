"""Hooks that let the test suite stop a create at a named stage. Inert unless set.

``MAMBABOOT_TEST_CRASH_AT=STAGE`` makes the process die of SIGSEGV there (a
native engine crash); ``MAMBABOOT_TEST_PAUSE_AT=STAGE`` writes the file named
by ``MAMBABOOT_TEST_PAUSE_FILE`` and waits until the test deletes it, so the
test can deliver a real signal or start a competing process at exactly that
point. Stages: solve, download, link, install (worker) and verify (CLI).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

MAX_PAUSE_SECONDS = 120


def hook(stage: str) -> None:
    if os.environ.get("MAMBABOOT_TEST_CRASH_AT") == stage:
        os.kill(os.getpid(), signal.SIGSEGV)
    if os.environ.get("MAMBABOOT_TEST_PAUSE_AT") != stage:
        return
    marker = Path(os.environ["MAMBABOOT_TEST_PAUSE_FILE"])
    marker.write_text(f"{os.getpid()}\n", encoding="utf-8")
    deadline = time.monotonic() + MAX_PAUSE_SECONDS
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


#: Variables the engine child must keep for the hooks to work there too.
HOOK_VARS = ("MAMBABOOT_TEST_CRASH_AT", "MAMBABOOT_TEST_PAUSE_AT", "MAMBABOOT_TEST_PAUSE_FILE")
