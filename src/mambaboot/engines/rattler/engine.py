"""The embedded engine: py-rattler, run in a child process (see ``worker``).

This module never imports rattler itself, so the CLI stays light and a native
crash in the engine cannot take the CLI (and its clean-up) down with it.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from mambaboot.activation.cleanenv import scrubbed_environ
from mambaboot.engines.base import Engine, InstallOutcome
from mambaboot.errors import (
    ChannelError,
    EngineError,
    SolveError,
    UsageError,
    from_json,
)
from mambaboot.locations import Cache
from mambaboot.results import ProgressCallback, no_progress
from mambaboot.spec import CreateRequest
from mambaboot.testhooks import HOOK_VARS

MAX_DETAIL_LINES = 12
#: The worker downloads archives: the user's HTTP settings must reach it
#: (MAMBA* variables are scrubbed otherwise).
HTTP_VARS = ("MAMBABOOT_HTTP_TIMEOUT", "MAMBABOOT_HTTP_RETRIES")


@lru_cache(maxsize=1)
def rattler_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("py-rattler")
    except PackageNotFoundError:  # pragma: no cover - a broken install
        return "unknown"


def condense(text: str, limit: int = MAX_DETAIL_LINES) -> str:
    """Keep the solver's reason readable: the first lines, and how many were cut."""
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) <= limit:
        return "\n".join(lines)
    return "\n".join([*lines[:limit], f"... ({len(lines) - limit} more lines)"])


class RattlerEngine(Engine):
    name = "rattler"

    def version(self) -> str:
        return rattler_version()

    def install(self, request: CreateRequest, prefix: Path, cache: Cache,
                progress: ProgressCallback = no_progress) -> InstallOutcome:
        payload = {
            "op": "from-lock" if request.lock else "create", "lock": request.lock,
            "bundle": request.bundle,
            "channels": list(request.channels), "specs": request.specs,
            "prefix": str(prefix), "pkgs_dir": str(cache.pkgs),
            "repodata_cache": str(cache.repodata), "offline": request.offline,
            "allow_link_scripts": request.allow_link_scripts, "limits": dict(request.limits),
        }
        return run_worker(payload, progress)


def run_worker(payload: dict[str, Any], progress: ProgressCallback) -> InstallOutcome:
    """Run the worker, relay its events, and turn its ending into an outcome or an error."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mambaboot.engines.rattler.worker", str(os.getpid())],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, encoding="utf-8", env=scrubbed_environ(keep=(*HOOK_VARS, *HTTP_VARS)),
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    # stderr is drained in a thread: read only at the end, a worker writing more
    # than a pipe buffer (~64 KiB of engine warnings) would block, and so would we
    tail: collections.deque[str] = collections.deque(maxlen=200)
    drain = threading.Thread(target=lambda: tail.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    drain.start()
    try:
        proc.stdin.write(json.dumps(payload))
        proc.stdin.close()
        result: dict[str, Any] | None = None
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            name = event.pop("event", "")
            if name in ("done", "error"):
                result = {"event": name, **event}
            else:
                progress(name, event)
        code = proc.wait()
        drain.join(timeout=5)
        stderr = "".join(tail)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return _outcome(result, code, stderr)


def _outcome(result: dict[str, Any] | None, code: int, stderr: str) -> InstallOutcome:
    if result and result["event"] == "done" and code == 0:
        return InstallOutcome("rattler", result["engine_version"], result["records"],
                              tuple(result.get("channels", ())), result.get("clobbers") or [])
    if result and result["event"] == "error":
        message = result.get("message", "")
        kind = result.get("kind")
        if kind == "mambaboot":
            raise from_json(result)
        if kind == "solve":
            hint = (" (python comes with pip: add --no-pip if the channels have no pip)"
                    if "pip" in message else "")
            raise SolveError(
                "The requested packages cannot be installed together; relax the versions "
                f"or add a channel that has them{hint}.", details=condense(message))
        if kind == "spec":
            raise UsageError(f"A package spec is malformed ({condense(message, 1)}); "
                             "write it like 'numpy' or 'numpy>=1.26'.")
        if kind == "channel":
            raise ChannelError(
                "A channel could not be read; check the -c URL or path and your network "
                "(or use --offline with a filled cache).", details=condense(message))
        raise EngineError(
            "The engine failed while installing packages; see the reason below and retry.",
            details=condense(message))
    if code < 0:
        try:
            signame = signal.Signals(-code).name
        except ValueError:
            signame = f"signal {-code}"
        raise EngineError(
            f"The engine crashed ({signame}) while installing; nothing usable was left behind, "
            "run the same command again (run with -v and report it if it repeats).",
            details=condense(stderr))
    raise EngineError(
        f"The engine stopped unexpectedly (exit code {code}); run the same command again.",
        details=condense(stderr))
