"""The local channels the benchmarks install from (built with the test fixtures' builder).

A synthetic environment is ``python`` from the demo channel (a real,
relocatable CPython, so the create's smoke test really runs) plus
``synthetic-all`` from a synthetic channel of N packages: two channels,
N + 2 packages. Both mambaboot and raw rattler are given exactly these
channels and specs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness import progress
from mambaboot.devchannel import build_demo_channel_cached, build_synthetic_channel

FILES_PER_PACKAGE = (20, 200)
SPECS = ("python", "synthetic-all")


@dataclass(frozen=True)
class Channels:
    """Channel directories for one synthetic size (synthetic first, then demo)."""

    n_packages: int
    synthetic: Path
    demo: Path

    @property
    def dirs(self) -> tuple[Path, Path]:
        return (self.synthetic, self.demo)

    def urls(self, base: str | None = None, served_root: Path | None = None) -> list[str]:
        """``file://`` URLs, or URLs under `base` when `served_root` is served there."""
        if base is None or served_root is None:
            return [d.as_uri() for d in self.dirs]
        return [f"{base}/{d.relative_to(served_root).as_posix()}" for d in self.dirs]


def demo_channel(where: Path) -> Path:
    return build_demo_channel_cached(where / "demo")


def synthetic_channels(where: Path, sizes: list[int],
                       fmt: str = "conda") -> dict[int, Channels]:
    """One synthetic channel per size; ``fmt``: ``conda`` (what real channels serve) or
    ``tar.bz2``."""
    demo = demo_channel(where)
    out = {}
    for n in sizes:
        dest = where / f"synth-{fmt}-{n}"
        if not (dest / "noarch" / "repodata.json").is_file():
            progress(f"building synthetic channel with {n} .{fmt} packages")
            build_synthetic_channel(dest, n, FILES_PER_PACKAGE, seed=0,
                                    fmt="conda" if fmt == "conda" else "tar.bz2")
        out[n] = Channels(n, dest, demo)
    return out


def channel_stats(channel: Path) -> dict[str, int]:
    """Packages and files (from repodata and the archives' sizes) of a channel."""
    packages = 0
    size = 0
    for repodata in channel.glob("*/repodata.json"):
        data = json.loads(repodata.read_text(encoding="utf-8"))
        for key in ("packages", "packages.conda"):
            for record in data.get(key, {}).values():
                packages += 1
                size += int(record.get("size", 0))
    return {"packages": packages, "archive_bytes": size}
