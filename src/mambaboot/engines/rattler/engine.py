"""The embedded engine: py-rattler, run in a child process (see ``worker``).

This module never imports rattler itself, so the CLI stays light and a native
crash in the engine cannot take the CLI (and its clean-up) down with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mambaboot import child
from mambaboot.engines.base import Engine, InstallOutcome
from mambaboot.engines.rattler import WORKER
from mambaboot.events import ProgressCallback, no_progress
from mambaboot.locations import Cache
from mambaboot.spec import CreateRequest


class RattlerEngine(Engine):
    name = "rattler"

    def install(self, request: CreateRequest, prefix: Path, cache: Cache,
                progress: ProgressCallback = no_progress,
                worker: child.Worker | None = None) -> InstallOutcome:
        payload = {
            "op": "from-lock" if request.lock else "create", "lock": request.lock,
            "bundle": request.bundle, "environment": request.environment,
            "channels": list(request.channels), "specs": request.specs,
            "prefix": str(prefix), "pkgs_dir": str(cache.pkgs),
            "repodata_cache": str(cache.repodata), "offline": request.offline,
            "allow_link_scripts": request.allow_link_scripts, "limits": dict(request.limits),
        }
        return run_worker(payload, progress, worker)


def run_worker(payload: dict[str, Any], progress: ProgressCallback,
               worker: child.Worker | None = None) -> InstallOutcome:
    """One worker operation (``child`` protocol), in ``worker`` or a new process."""
    advice = "nothing usable was left behind, run the same command again"
    if worker is not None:
        reply = worker.call(payload, progress, doing=" while installing", advice=advice)
    else:
        reply = child.run(WORKER, payload, progress, doing=" while installing", advice=advice)
    return InstallOutcome(reply["engine_version"], reply["records"],
                          tuple(reply.get("channels", ())), reply.get("clobbers") or [],
                          reply.get("pypi") or [], bool(reply.get("links_checked")))
