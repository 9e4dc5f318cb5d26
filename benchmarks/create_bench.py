"""Warm and cold create: mambaboot vs raw rattler vs the hard-link floor.

Warm: the package cache already holds every extracted package (one unrecorded
warm-up round fills it). Each round installs the same records four ways:

- ``raw``: raw_rattler.py (solve + install, timed in-process; its whole
  process wall time is kept as ``raw.process``)
- ``hardlink``: ``cp -al`` of the raw result into a fresh directory
- ``mambaboot``: the ``mambaboot create`` command, wall time
- ``phases``: ``session.create`` in a child with timestamped progress events

Cold: a fresh, empty cache per round (download/copy, extract, install); the
CPU time of each whole process tree is kept too (``cpu``: user + system of the
command and every process it waited for).

Peer: when ``MAMBABOOT_BENCH_MICROMAMBA`` names a real micromamba binary,
``micromamba create`` of the same specs from the same channels runs in the
same rounds (its own package cache: warm for warm creates, empty for cold).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from channels import SPECS, Channels
from harness import Results, Sample, interleave
from mambaboot.devchannel import serve_directory
from workspace import HERE, Workspace, remove


def _create_args(name: str, channels: list[str], cache: Path) -> list[str]:
    """``mambaboot create`` for the synthetic env: python + synthetic-all, no managers."""
    args = ["create", name, "--no-managers", "--no-pip", "-q", "--cache", str(cache)]
    for spec in SPECS[1:]:
        args += ["--with", spec]
    for channel in channels:
        args += ["-c", channel]
    return args


def _cli_create(ws: Workspace, name: str, channels: list[str], cache: Path) -> float:
    start = time.perf_counter()
    ws.cli(*_create_args(name, channels, cache))
    return time.perf_counter() - start


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def micromamba_peer() -> Path | None:
    """The real micromamba named by ``MAMBABOOT_BENCH_MICROMAMBA`` (None: no peer case)."""
    named = os.environ.get("MAMBABOOT_BENCH_MICROMAMBA")
    if not named:
        return None
    path = Path(named)
    if not os.access(path, os.X_OK):
        raise SystemExit(f"MAMBABOOT_BENCH_MICROMAMBA={named} is not an executable file")
    return path


def _micromamba_create(ws: Workspace, binary: Path, prefix: Path, channels: list[str],
                       pkgs: Path) -> Sample:
    env = {**ws.env, "CONDA_PKGS_DIRS": str(pkgs), "MAMBA_ROOT_PREFIX": str(pkgs.parent / "mm"),
           "MAMBA_ADD_PIP_AS_PYTHON_DEPENDENCY": "false"}
    args = [str(binary), "create", "--yes", "--prefix", str(prefix), "--override-channels",
            "--no-rc", "-q", *(f for c in channels for f in ("-c", c)), *SPECS]
    cpu, start = _children_cpu(), time.perf_counter()
    ws.run(args, env=env)
    return {"wall": time.perf_counter() - start, "cpu": _children_cpu() - cpu}


def _raw_request(prefix: Path, channels: list[str], pkgs: Path, repodata: Path) -> str:
    return json.dumps({"channels": channels, "specs": list(SPECS), "prefix": str(prefix),
                       "pkgs_dir": str(pkgs), "repodata_cache": str(repodata)})


def _raw(ws: Workspace, prefix: Path, channels: list[str], pkgs: Path,
         repodata: Path) -> dict[str, float]:
    start = time.perf_counter()
    proc = ws.script("raw_rattler.py", _raw_request(prefix, channels, pkgs, repodata))
    wall = time.perf_counter() - start
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"solve": out["solve"], "install": out["install"],
            "solve_install": out["solve"] + out["install"], "process": wall,
            "peak_rss_mb": out["peak_rss_kb"] / 1024}


def _phases(ws: Workspace, prefix: Path, channels: list[str], cache: Path) -> dict[str, float]:
    req = {"prefix": str(prefix), "cache": str(cache), "channels": channels,
           "specs": list(SPECS)}
    out = json.loads(ws.script("phases.py", json.dumps(req)).stdout.strip().splitlines()[-1])
    out["peak_rss_self_mb"] = out.pop("peak_rss_self_kb") / 1024
    out["peak_rss_children_mb"] = out.pop("peak_rss_children_kb") / 1024
    return out


def count_tree(prefix: Path) -> dict[str, int]:
    files = size = 0
    for root, _dirs, names in os.walk(prefix):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(root, name)).st_size
    return {"files": files, "bytes": size}


def warm_create(ws: Workspace, chans: Channels, reps: int) -> tuple[Results, dict[str, int]]:
    n = chans.n_packages
    urls = chans.urls()
    dirs = [str(d) for d in chans.dirs]
    raw_prefix = ws.scratch / f"raw-{n}"
    counts: dict[str, int] = {}

    def raw(_i: int) -> Sample:
        remove(raw_prefix)
        out = _raw(ws, raw_prefix, urls, ws.cache / "pkgs", ws.cache / "raw-repodata")
        if not counts:
            counts.update(count_tree(raw_prefix), packages=n + 2)
        return out

    def hardlink(_i: int) -> Sample:
        dest = ws.fresh(f"cpal-{n}")
        start = time.perf_counter()
        subprocess.run(["cp", "-al", str(raw_prefix), str(dest)], check=True)
        wall = time.perf_counter() - start
        remove(dest)
        return {"wall": wall}

    def mambaboot(i: int) -> Sample:
        name = f"warm-{n}-{i}"
        remove(ws.root / name)
        wall = _cli_create(ws, name, dirs, ws.cache)
        remove(ws.root / name)
        return {"wall": wall}

    def phases(i: int) -> Sample:
        prefix = ws.root / f"phases-{n}-{i}"
        remove(prefix)
        out = _phases(ws, prefix, dirs, ws.cache)
        remove(prefix)
        return out

    cases = {"raw": raw, "hardlink": hardlink, "mambaboot": mambaboot, "phases": phases}
    peer = micromamba_peer()
    if peer is not None:
        def micromamba(i: int) -> Sample:
            prefix = ws.fresh(f"mm-warm-{n}-{i}")
            out = _micromamba_create(ws, peer, prefix, urls, ws.cache / "mm-pkgs")
            remove(prefix)
            return out

        cases["micromamba"] = micromamba
    results = interleave(cases, reps, label=f"warm create {n} packages")
    remove(raw_prefix)
    return results, counts


def cold_create(ws: Workspace, chans: Channels, reps: int, transport: str) -> Results:
    """Empty cache every round; `transport` is ``file`` or ``http`` (127.0.0.1)."""
    served = serve_directory(ws.channels) if transport == "http" else nullcontext(None)
    with served as base:
        urls = chans.urls(base, ws.channels)

        def raw(_i: int) -> Sample:
            cache = ws.fresh("cold-raw")
            prefix = ws.fresh("cold-raw-env")
            cpu = _children_cpu()
            out = _raw(ws, prefix, urls, cache / "pkgs", cache / "repodata")
            out["cpu"] = _children_cpu() - cpu
            remove(prefix)
            remove(cache)
            return out

        def mambaboot(i: int) -> Sample:
            cache = ws.fresh("cold-mb")
            name = f"cold-{transport}-{i}"
            remove(ws.root / name)
            cpu = _children_cpu()
            wall = _cli_create(ws, name, urls, cache)
            cpu = _children_cpu() - cpu
            remove(ws.root / name)
            remove(cache)
            return {"wall": wall, "cpu": cpu}

        cases = {"raw": raw, "mambaboot": mambaboot}
        peer = micromamba_peer()
        if peer is not None:
            def micromamba(i: int) -> Sample:
                cache = ws.fresh("cold-mm")
                prefix = ws.fresh(f"cold-mm-env-{i}")
                out = _micromamba_create(ws, peer, prefix, urls, cache / "pkgs")
                remove(prefix)
                remove(cache)
                return out

            cases["micromamba"] = micromamba
        return interleave(cases, reps, warmup=0,
                          label=f"cold create {chans.n_packages} packages via {transport}")


def largest_env(ws: Workspace, chans: Channels, name: str) -> Path:
    """A kept environment (for verify and the memory profile) built by the CLI."""
    remove(ws.root / name)
    _cli_create(ws, name, [str(d) for d in chans.dirs], ws.cache)
    return ws.root / name



def peak_memory(ws: Workspace, chans: Channels, reps: int) -> Results:
    """Peak RSS (``/usr/bin/time -f %M``: the largest process of the tree) of a warm create.

    GNU time is a small C program, so unlike ``ru_maxrss`` read in a Python
    child (which Linux carries over from the forking parent) the figure is the
    tool's own.
    """
    n = chans.n_packages
    dirs = [str(d) for d in chans.dirs]
    time_cmd = ["/usr/bin/time", "-f", "%M"]

    def kb(proc: subprocess.CompletedProcess[str]) -> float:
        return float(proc.stderr.strip().splitlines()[-1])

    def mambaboot(i: int) -> Sample:
        name = f"mem-{n}-{i}"
        remove(ws.root / name)
        proc = ws.run([*time_cmd, *ws.mambaboot(), *_create_args(name, dirs, ws.cache)])
        remove(ws.root / name)
        return {"peak_rss_mb": kb(proc) / 1024}

    def raw(_i: int) -> Sample:
        prefix = ws.fresh(f"mem-raw-{n}")
        req = _raw_request(prefix, chans.urls(), ws.cache / "pkgs", ws.cache / "raw-repodata")
        proc = ws.run([*time_cmd, sys.executable, str(HERE / "raw_rattler.py"), req])
        remove(prefix)
        return {"peak_rss_mb": kb(proc) / 1024}

    return interleave({"mambaboot": mambaboot, "raw": raw}, reps, warmup=0,
                      label=f"peak memory {n} packages")
