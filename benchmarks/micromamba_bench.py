"""Our overhead on the micromamba engine: three whole commands, interleaved.

Each round creates the same environment (python, pip, conda, mamba and the
demo packages, from the demo channel, with a warm shared cache) three ways:

- ``plain``: ``micromamba create`` itself, with the same channel and package
  cache (what the seed script did);
- ``mm``: ``mambaboot create --engine micromamba`` (solve with ``--dry-run``,
  vet every package, link ``--offline``, then the shared steps);
- ``embedded``: ``mambaboot create`` with the embedded engine.

Run by hand (needs ../shared/micromamba); prints medians and the ratios
mm/plain and embedded/plain, and can write JSON:

    python benchmarks/micromamba_bench.py --reps 5 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from harness import interleave, progress
from workspace import Workspace, remove

SPECS = ["python", "pip", "conda", "mamba", "demo-tool", "demo-noarch"]


def _micromamba() -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.micromamba_standin import shared_micromamba

    found = shared_micromamba()
    if found is None:
        raise SystemExit("no real micromamba (../shared/micromamba or MAMBABOOT_TEST_MICROMAMBA)")
    return Path(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from mambaboot.devchannel import build_demo_channel

    ws = Workspace()
    try:
        channel = build_demo_channel(ws.channels / "demo")
        binary = _micromamba()
        # fetched once through the normal sha256-checked route, from a 127.0.0.1 mirror
        ws.run([*ws.mambaboot(), "micromamba", "fetch", "--cache", str(ws.cache)],
               env={**ws.env, "MAMBABOOT_MICROMAMBA_URL": _serve(binary, ws)})

        def mambaboot(name: str, *extra: str) -> float:
            remove(ws.root / name)
            start = time.perf_counter()
            ws.cli("create", name, "-q", "--cache", str(ws.cache), "-c", str(channel),
                   *(f for s in SPECS[4:] for f in ("--with", s)), *extra)
            return time.perf_counter() - start

        def plain(_i: int) -> dict[str, float]:
            prefix = ws.fresh("plain")
            env = {**ws.env, "CONDA_PKGS_DIRS": str(ws.cache / "pkgs"),
                   "MAMBA_ROOT_PREFIX": str(ws.cache / "micromamba" / "root"),
                   "MAMBA_ADD_PIP_AS_PYTHON_DEPENDENCY": "false"}
            start = time.perf_counter()
            ws.run([str(binary), "create", "--yes", "--prefix", str(prefix),
                    "--override-channels", "-c", channel.as_uri(), "--no-rc", "-q", *SPECS],
                   env=env)
            return {"wall": time.perf_counter() - start}

        cases = {
            "plain": plain,
            "mm": lambda _i: {"wall": mambaboot("mm", "--engine", "micromamba")},
            "embedded": lambda _i: {"wall": mambaboot("emb")},
        }
        results = interleave(cases, args.reps, warmup=1, label="micromamba")
        plain_median = results["plain.wall"].median
        for name in ("mm", "embedded", "plain"):
            stats = results[f"{name}.wall"]
            print(f"{name:9} median {stats.median:6.2f} s (min {stats.min:.2f}, max "
                  f"{stats.max:.2f})  ratio to plain micromamba "
                  f"{stats.median / plain_median:.2f}x")
        if args.json:
            args.json.write_text(json.dumps({k: v.to_json() for k, v in results.items()},
                                            indent=2))
    finally:
        for server in _SERVERS:
            server.close()  # type: ignore[attr-defined]
        ws.close()
    return 0


_SERVERS: list[object] = []


def _serve(binary: Path, ws: Workspace) -> str:
    """A 127.0.0.1 release mirror holding ``binary`` (as the tests serve it)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.micromamba_standin import release_tree

    from mambaboot.devchannel import ChannelServer
    from mambaboot.engines.micromamba.binary import MICROMAMBA_VERSION, current_subdir

    mirror = ws.base / "mirror"
    release_tree(mirror, MICROMAMBA_VERSION, current_subdir(), binary.read_bytes())
    server = ChannelServer(mirror)
    _SERVERS.append(server)
    progress(f"serving micromamba from {server.url}")
    return server.url


if __name__ == "__main__":
    sys.exit(main())
