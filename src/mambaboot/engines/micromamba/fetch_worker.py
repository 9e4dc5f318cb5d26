"""Child process for the channel route: ``python -m mambaboot.engines.micromamba.fetch_worker``.

py-rattler is native code and has crashed in-process before (see docs/design.md),
so, like ``engines.rattler.worker``, it only runs here. Two small operations,
one per process, so the parent can download the archive itself (its retries,
proxies and sha256 check) in between:

* ``query``: find the ``micromamba`` record (version, build) for one subdir in
  the channels, first channel that has it wins; reply with its URL and sha256.
* ``extract``: read one member (``bin/micromamba``) out of a verified archive.

The protocol is ``child``'s; every failure here is a channel that
cannot be read (``classify``).
"""

from __future__ import annotations

if __name__ == "__main__":
    from mambaboot.child import die_with_parent

    die_with_parent()  # before importing rattler (see there)

from pathlib import Path
from typing import Any, Literal

import rattler
from rattler.package_streaming import PackageArchive

from mambaboot.child import Events, condense, serve
from mambaboot.errors import ChannelError, MambabootError

CacheAction = Literal["cache-or-fetch", "use-cache-only", "force-cache-only", "no-cache"]


def _version_key(record: rattler.RepoDataRecord) -> tuple[rattler.Version, int]:
    return (record.version, record.build_number)


async def query(req: dict[str, Any], _emit: Events) -> dict[str, Any]:
    cache_action: CacheAction = "force-cache-only" if req.get("offline") else "cache-or-fetch"
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


async def extract(req: dict[str, Any], _emit: Events) -> dict[str, Any]:
    archive = await PackageArchive.from_path(req["archive"])
    data = await archive.read_file(req["member"])
    if data is None:
        return {"missing_member": True}
    dest = Path(req["dest"])
    dest.write_bytes(data)
    return {"size": len(data)}


def classify(exc: Exception) -> MambabootError:
    return ChannelError("A channel could not be read for the micromamba package; check the "
                        "-c URL or path (or drop --offline).", details=condense(str(exc)))


if __name__ == "__main__":
    serve({"query": query, "extract": extract}, classify)
