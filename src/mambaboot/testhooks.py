"""Hooks that let the test suite stop a create at a named stage. Inert unless set.

``MAMBABOOT_TEST_CRASH_AT=STAGE`` makes the process die of SIGSEGV there (a
native engine crash); ``MAMBABOOT_TEST_PAUSE_AT=STAGE`` writes the file named
by ``MAMBABOOT_TEST_PAUSE_FILE`` and waits until the test deletes it, so the
test can deliver a real signal or start a competing process at exactly that
point.

The code never calls a hook itself: it emits progress events, and the stages
are read off them (``STAGES``) in two places only: the engine child's event
writer (``child.Events``) and the progress relay ``session.create``
wraps around its callback. An event from the child has run its hook there
already (the relay in ``child.run`` marks it ``passed``), so a stage
fires once, in the process that reached it. Each stage fires once per process.

The exception is ``startup`` (``cli.main`` before the parser is built): no
event exists that early, so the CLI calls ``hook("startup")`` directly.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

MAX_PAUSE_SECONDS = 120

#: event name -> stage. The meaning of each stage:
STAGES = {
    "solve-start": "solve",      # the solve (or the lockfile read) begins
    "check-start": "download",   # packages are fetched and unpacked into the cache from here
    "fetch-start": "fetch",      # our own fetch of archives (HTTP, a local channel, a bundle)
    "install-start": "install",  # the engine's install begins, nothing linked yet
    "link-start": "link",        # the first package is about to be linked
    "verify": "verify",          # the new environment's smoke test (in the CLI process)
}

#: Variables the engine child must keep for the hooks to work there too.
HOOK_VARS = ("MAMBABOOT_TEST_CRASH_AT", "MAMBABOOT_TEST_PAUSE_AT", "MAMBABOOT_TEST_PAUSE_FILE")

_fired: set[str] = set()


def stage_of_event(event: str) -> str | None:
    return STAGES.get(event)


def on_event(event: str) -> None:
    """Run the hook of the stage ``event`` starts, if any."""
    stage = STAGES.get(event)
    if stage is not None:
        hook(stage)


def passed(event: str) -> None:
    """``event`` came from a child, which has run its stage's hook already."""
    stage = STAGES.get(event)
    if stage is not None and _armed(stage):
        _fired.add(stage)


def _armed(stage: str) -> bool:
    return stage in (os.environ.get("MAMBABOOT_TEST_CRASH_AT"),
                     os.environ.get("MAMBABOOT_TEST_PAUSE_AT"))


def hook(stage: str) -> None:
    if not _armed(stage) or stage in _fired:
        return
    _fired.add(stage)
    if os.environ.get("MAMBABOOT_TEST_CRASH_AT") == stage:
        os.kill(os.getpid(), signal.SIGSEGV)
    if os.environ.get("MAMBABOOT_TEST_PAUSE_AT") != stage:
        return
    marker = Path(os.environ["MAMBABOOT_TEST_PAUSE_FILE"])
    # whole or not at all: a test polling for the file reads the pid at once
    part = marker.with_name(marker.name + ".part")
    part.write_text(f"{os.getpid()}\n", encoding="utf-8")
    os.replace(part, marker)
    deadline = time.monotonic() + MAX_PAUSE_SECONDS
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
