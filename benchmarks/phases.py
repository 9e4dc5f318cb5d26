"""Child script: one ``mambaboot.session.create`` with every progress event timestamped.

Usage: ``python phases.py JSON`` with prefix, cache, channels, specs (the
same request ``mambaboot create --no-managers --with ...`` builds). Prints one
JSON line: seconds spent per phase, and peak RSS of this process (the CLI
side) and of its children (the engine worker and the smoke-test interpreters).
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import json  # noqa: E402 - timing the import is the point
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from mambaboot import session  # noqa: E402
from mambaboot.locations import Cache  # noqa: E402
from mambaboot.spec import CreateRequest, normalize_channel  # noqa: E402
from procstat import peak_rss_kb  # noqa: E402

T_IMPORT = time.perf_counter() - T0

#: (phase, event that ends it); each phase starts where the previous one ended.
PHASES = (
    ("start_worker", "solve-start"),   # spawn python, import rattler, gateway
    ("solve", "solved"),
    ("vet", "install-start"),          # pkgcheck of every archive, before rattler links
    ("install", "last-linked"),        # rattler.install until the last package is linked
    ("after_link", "finishing"),       # conda-meta origins, prefix scan, lockfile, worker exit
    ("activation", "verify"),          # pkgs link, CACHEDIR.TAG, activation scripts
    ("verify_manifest", "returned"),   # smoke test of python, manifest, marker
)


def main() -> None:
    req = json.loads(sys.argv[1])
    stamps: dict[str, float] = {}

    def on_event(event: str, _data: dict) -> None:
        now = time.perf_counter()
        stamps.setdefault(event, now)
        if event == "linked":
            stamps["last-linked"] = now

    request = CreateRequest(
        name=Path(req["prefix"]).name, python=None,
        channels=tuple(normalize_channel(c) for c in req["channels"]),
        extra=tuple(s for s in req["specs"] if s != "python"), managers=False, pip=False)
    cache_root = Path(req["cache"])
    start = time.perf_counter()
    session.create(request, Path(req["prefix"]), Cache(cache_root, cache_root / "pkgs"),
                   progress=on_event, check_shell=False)
    stamps["returned"] = time.perf_counter()
    out: dict[str, float] = {"import": T_IMPORT, "total": stamps["returned"] - start}
    previous = start
    for phase, event in PHASES:
        out[phase] = stamps[event] - previous
        previous = stamps[event]
    # after_link, split: the engine's own end (its tail, the worker's after-link
    # checks, the reply), then the session's walk of the prefix (made only when
    # the engine did not check its links itself) and the conda env files
    after = "scan" if "scan" in stamps else "finishing"
    for part, (begin, end) in {"engine_end": ("last-linked", after),
                               "scan_prepare": (after, "finishing")}.items():
        if begin in stamps and end in stamps:
            out[part] = stamps[end] - stamps[begin]
    out["peak_rss_self_kb"] = peak_rss_kb()
    # an upper bound: Linux starts a child's ru_maxrss at its parent's RSS at fork
    out["peak_rss_children_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps(out))


if __name__ == "__main__":
    main()
