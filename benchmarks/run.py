"""Benchmarks for mambaboot: ``python benchmarks/run.py [--quick]``.

Builds local channels in a private temp dir, measures create / run / verify
against their baselines in the same run (see docs/benchmarks.md), prints
Markdown tables on stdout and, when asked, writes the raw results as JSON and
the scaling plot as PNG. Nothing else is written outside the temp dir.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from channels import synthetic_channels
from create_bench import cold_create, largest_env, peak_memory, warm_create
from harness import LOADS, Results, loadavg, progress
from machine import describe
from report import render
from startup_bench import LIST_ENVS, startup
from verify_bench import verify
from workspace import Workspace

FULL = {"sizes": [10, 40, 100, 200, 400], "reps": 5, "cold": [40, 400], "startup_reps": 20,
        "fmt": "conda"}
QUICK = {"sizes": [10, 40, 200], "reps": 3, "cold": [40], "startup_reps": 10, "fmt": "conda"}


def _stats(results: Results) -> dict[str, Any]:
    return {key: stats.to_json() for key, stats in sorted(results.items())}


def measure(ws: Workspace, plan: dict[str, Any]) -> dict[str, Any]:
    sizes = sorted({*plan["sizes"], *plan["cold"]})
    channels = synthetic_channels(ws.channels, sizes, plan["fmt"])
    doc: dict[str, Any] = {"warm": {}, "cold": {}}
    for n in plan["sizes"]:
        results, counts = warm_create(ws, channels[n], plan["reps"])
        doc["warm"][str(n)] = {"counts": counts, "stats": _stats(results)}
    doc["memory"] = {"packages": max(plan["sizes"]) + 2, "stats": _stats(
        peak_memory(ws, channels[max(plan["sizes"])], plan["reps"]))}
    for n in plan["cold"]:
        for transport in ("file", "http"):
            results = cold_create(ws, channels[n], plan["reps"], transport)
            doc["cold"][f"{transport}-{n}"] = {"packages": n + 2, "transport": transport,
                                               "stats": _stats(results)}
    demo = channels[plan["sizes"][0]].demo
    doc["startup"] = {"list_envs": LIST_ENVS,
                      "stats": _stats(startup(ws, demo, plan["startup_reps"]))}
    biggest = channels[max(plan["sizes"])]
    env = largest_env(ws, biggest, "verify-env")
    results, counts = verify(ws, env, plan["reps"])
    doc["verify"] = {"counts": {**counts, "packages": biggest.n_packages + 2},
                     "stats": _stats(results)}
    return doc


def settle(minutes: float) -> None:
    limit = (os.cpu_count() or 2) / 2
    deadline = time.monotonic() + minutes * 60
    while loadavg() >= limit and time.monotonic() < deadline:
        progress(f"waiting for the load average to drop below {limit:.1f}")
        time.sleep(15)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer sizes and repetitions (a few minutes)")
    parser.add_argument("--workdir", type=Path,
                        help="use (and keep) this directory instead of a fresh temp dir")
    parser.add_argument("--json", type=Path, help="write the raw results here")
    parser.add_argument("--plot", type=Path, help="write the scaling plot (PNG) here")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="measure nothing: print the tables (and --plot) of saved results")
    parser.add_argument("--sizes", help="comma-separated synthetic sizes for warm creates "
                                        "(overrides the plan)")
    parser.add_argument("--cold", help="comma-separated synthetic sizes for cold creates "
                                       "(overrides the plan)")
    parser.add_argument("--fmt", choices=("conda", "tar.bz2"),
                        help="archive format of the synthetic channels (default: conda, as "
                             "real channels serve)")
    parser.add_argument("--reps", type=int, help="repetitions (overrides the plan)")
    parser.add_argument("--settle", type=float, default=0, metavar="MIN",
                        help="first wait up to MIN minutes for the load average to drop "
                             "below half the CPUs (shared machines)")
    args = parser.parse_args(argv)
    if args.render:
        return _output(json.loads(args.render.read_text(encoding="utf-8")), None, args.plot)
    plan = dict(QUICK if args.quick else FULL)
    if args.sizes:
        plan["sizes"] = sorted(int(n) for n in args.sizes.split(","))
    if args.cold:
        plan["cold"] = sorted(int(n) for n in args.cold.split(","))
    if args.fmt:
        plan["fmt"] = args.fmt
    if args.reps:
        plan["reps"] = plan["startup_reps"] = args.reps
    settle(args.settle)
    LOADS.clear()  # the report shows the load during the measurements only
    started = time.perf_counter()
    ws = Workspace(args.workdir.absolute() if args.workdir else None)
    progress(f"work dir {ws.base}")
    try:
        doc = measure(ws, plan)
        doc["machine"] = describe(ws.base)
        doc["machine"]["load_1min"] = [min(LOADS), max(LOADS)]
    finally:
        ws.close()
    doc["command"] = shlex.join(["python", "benchmarks/run.py", *(argv or sys.argv[1:])])
    doc["reps"] = plan["reps"]
    doc["fmt"] = plan["fmt"]
    doc["elapsed_s"] = time.perf_counter() - started
    return _output(doc, args.json, args.plot)


def _output(doc: dict[str, Any], json_path: Path | None, plot_path: Path | None) -> int:
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    if plot_path:
        from plot import plot_scaling

        plot_scaling(doc, plot_path)
    print(render(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
