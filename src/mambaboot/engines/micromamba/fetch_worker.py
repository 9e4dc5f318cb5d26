"""Child process for the channel route: ``python -m mambaboot.engines.micromamba.fetch_worker``.

py-rattler is native code and has crashed in-process before (see DESIGN.md),
so, like ``engines.worker``, it only runs here. Two small operations, one per
process, so the parent can download the archive itself (its retries, proxies
and sha256 check) in between:

* ``query``: find the ``micromamba`` record (version, build) for one subdir in
  the channels, first channel that has it wins; reply with its URL and sha256.
* ``extract``: read one member (``bin/micromamba``) out of a verified archive.

Protocol: one JSON request on stdin, one JSON line on stdout (``done`` or
``error``); anything rattler prints goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import rattler
from rattler.package_streaming import PackageArchive


def _version_key(record: rattler.RepoDataRecord) -> tuple[rattler.Version, int]:
    return (record.version, record.build_number)


async def query(req: dict[str, Any]) -> dict[str, Any]:
    cache_action = "force-cache-only" if req.get("offline") else "cache-or-fetch"
    gateway = rattler.Gateway(cache_dir=req["repodata_cache"],
                              default_config=rattler.SourceConfig(cache_action=cache_action))
    result = await gateway.query(req["channels"], [req["subdir"]], ["micromamba"],
                                 recursive=False, channel_relations="disabled")
    seen: list[str] = []
    # Filtered by hand: exact version and build string, no MatchSpec parsing quirks.
    for per_channel in result:
        found = []
        for record in per_channel:
            seen.append(f"{record.version}-{record.build}")
            if str(record.version) == req["version"] and req["build"] in (None, str(record.build)):
                found.append(record)
        if found:
            best = max(found, key=_version_key)
            return {"url": best.url, "file_name": best.file_name, "version": str(best.version),
                    "build": str(best.build), "channel": best.channel, "size": best.size,
                    "sha256": best.sha256.hex() if best.sha256 else None}
    return {"missing": True, "available": sorted(set(seen))}


async def extract(req: dict[str, Any]) -> dict[str, Any]:
    archive = await PackageArchive.from_path(req["archive"])
    data = await archive.read_file(req["member"])
    if data is None:
        return {"missing_member": True}
    dest = Path(req["dest"])
    dest.write_bytes(data)
    return {"size": len(data)}


def main() -> int:
    events_fd = os.dup(1)
    os.dup2(2, 1)  # native output must not corrupt the reply
    out = os.fdopen(events_fd, "w", encoding="utf-8")
    request = json.loads(sys.stdin.read())
    operation = {"query": query, "extract": extract}[request["op"]]
    try:
        reply = {"event": "done", **asyncio.run(operation(request))}
    except Exception as exc:
        reply = {"event": "error", "type": type(exc).__name__, "message": str(exc)}
    out.write(json.dumps(reply) + "\n")
    out.flush()
    return 0 if reply["event"] == "done" else 1


if __name__ == "__main__":
    status = main()
    sys.stderr.flush()
    # py-rattler's runtime threads have aborted interpreter finalisation
    # ("PyGILState_Release ... finalizing"); the reply is written and flushed.
    os._exit(status)
