"""Child script: the baseline, raw py-rattler ``solve`` + ``install``, nothing else.

Usage: ``python raw_rattler.py JSON`` with channels, specs, prefix, pkgs_dir,
repodata_cache. Prints one JSON line: import, solve and install times measured
in-process with perf_counter, and this process's peak RSS (VmHWM). Settings mirror our
worker (same gateway cache action, virtual packages, channel relations, no
link scripts) minus everything that is mambaboot's own.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import asyncio  # noqa: E402 - timing the import is the point
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import rattler  # noqa: E402

from procstat import peak_rss_kb  # noqa: E402

T_IMPORT = time.perf_counter() - T0


async def solve_install(req: dict) -> dict[str, float]:
    gateway = rattler.Gateway(cache_dir=req["repodata_cache"],
                              default_config=rattler.SourceConfig(cache_action="cache-or-fetch"))
    t0 = time.perf_counter()
    records = await rattler.solve(
        sources=req["channels"], specs=req["specs"], gateway=gateway,
        virtual_packages=rattler.VirtualPackage.detect(), channel_relations="disabled")
    t1 = time.perf_counter()
    await rattler.install(records, target_prefix=req["prefix"], cache_dir=req["pkgs_dir"],
                          show_progress=False, execute_link_scripts=False)
    t2 = time.perf_counter()
    return {"solve": t1 - t0, "install": t2 - t1, "records": len(records)}


def main() -> None:
    req = json.loads(sys.argv[1])
    out = asyncio.run(solve_install(req))
    out["import"] = T_IMPORT
    out["peak_rss_kb"] = peak_rss_kb()
    print(json.dumps(out), flush=True)
    # py-rattler 0.28 can abort in interpreter finalization after an HTTP install
    # ("PyGILState_Release: thread state ... must be current"); the work is done
    # and reported, so leave without finalizing.
    os._exit(0)


if __name__ == "__main__":
    main()
