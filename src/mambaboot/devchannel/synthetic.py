"""Synthetic channels for benchmarks: many packages, realistic file counts.

Real environments contain hundreds of packages with tens to hundreds of small
files each; solve, download, extract and link costs scale with those counts.
Everything is derived from `seed`, so two builds are identical.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Literal

from mambaboot.devchannel.build import index_channel, write_packages
from mambaboot.devchannel.spec import FileSpec, PackageSpec, current_subdir

SYNTHETIC_META = "synthetic-all"
_WORDS = [
    *("conda", "env", "prefix", "solve", "link", "package", "channel", "repodata"),
    *("shard", "cache", "lock", "python", "library", "module", "binary", "script"),
    *("header", "config", "data", "index", "version", "build", "number"),
]


def synthetic_name(index: int) -> str:
    """Name of the `index`-th synthetic package (stable, sortable)."""
    return f"synth-{index:04d}"


def _text_pool(rng: random.Random, size: int = 1 << 17) -> str:
    """Compressible pseudo-text; files are slices of it (cheap to generate)."""
    words: list[str] = []
    total = 0
    while total < size:
        word = rng.choice(_WORDS)
        words.append(word)
        total += len(word) + 1
    return " ".join(words)


def _package(  # noqa: PLR0917 - bound positionally via functools.partial
    index: int,
    rng: random.Random,
    pool: str,
    files_range: tuple[int, int],
    size_range: tuple[int, int],
    subdir: str,
    fmt: Literal["tar.bz2", "conda"] = "tar.bz2",
) -> PackageSpec:
    name = synthetic_name(index)
    deps = sorted(rng.sample(range(index), k=min(index, rng.randint(0, 3))))
    noarch = rng.random() < 0.6
    files: dict[str, bytes | FileSpec] = {}
    for n in range(rng.randint(*files_range)):
        size = rng.randint(*size_range)
        start = rng.randrange(0, len(pool) - size)
        data = f"# {name} file {n}\n{pool[start : start + size]}\n".encode()
        folder = rng.choice(("share", "lib", "include", "etc"))
        files[f"{folder}/{name}/{n // 50:02d}/file{n:04d}.txt"] = data
    if not noarch:
        files[f"bin/{name}"] = FileSpec(f"#!/bin/sh\necho {name}\n".encode(), executable=True)
    return PackageSpec(
        name=name,
        version=f"1.{index % 7}.{index % 3}",
        depends=[synthetic_name(d) for d in deps],
        noarch="generic" if noarch else None,
        subdir=subdir,
        files=files,
        compresslevel=1,
        fmt=fmt,
    )


def build_synthetic_channel(
    dest: Path,
    n_packages: int,
    files_per_package_range: tuple[int, int] = (20, 200),
    *,
    seed: int = 0,
    file_size_range: tuple[int, int] = (200, 4000),
    subdir: str | None = None,
    fmt: Literal["tar.bz2", "conda"] = "tar.bz2",
) -> Path:
    """Build `n_packages` interdependent packages plus ``synthetic-all`` into `dest`.

    About 60% are ``noarch: generic``, the rest live in `subdir` (default: the
    current platform) and carry a ``bin/`` script.  Each package depends on up
    to three earlier ones, forming a DAG; ``synthetic-all`` depends on all.
    ``fmt="conda"`` writes ``.conda`` archives, as real channels serve today.
    """
    dest = Path(dest)
    subdir = subdir or current_subdir()
    (dest / subdir).mkdir(parents=True, exist_ok=True)
    pool = _text_pool(random.Random(seed))  # noqa: S311 - reproducible, not secret
    # Callables with per-package RNGs: packages are generated inside the
    # writer threads, so memory stays bounded and output stays deterministic.
    specs: list[PackageSpec | Callable[[], PackageSpec]] = [
        partial(
            _package,
            i,
            random.Random(f"{seed}-{i}"),  # noqa: S311
            pool,
            files_per_package_range,
            file_size_range,
            subdir,
            fmt,
        )
        for i in range(n_packages)
    ]
    specs.append(
        PackageSpec(
            SYNTHETIC_META,
            "1.0",
            noarch="generic",
            depends=[synthetic_name(i) for i in range(n_packages)],
            files={"share/synthetic-all/README.txt": b"meta package\n"},
            fmt=fmt,
        )
    )
    write_packages(specs, dest)
    index_channel(dest)
    return dest
