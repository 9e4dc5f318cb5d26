"""Assemble, index and cache the demo channel.

Building packages the running CPython, which takes a few seconds, so test
sessions share one cached copy keyed by everything that could change it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import rattler
from rattler.index import index_fs

from mambaboot.devchannel import catalog, condapkgs
from mambaboot.devchannel.archive import write_package
from mambaboot.devchannel.pythonpkg import PY_XY, python_package_spec
from mambaboot.devchannel.spec import PackageSpec, current_subdir

#: Cache entries (other keys, killed builds) older than this are deleted.
STALE_AFTER_SECONDS = 3600.0

#: Subdirs the demo channel always has, besides the current platform's.
EXTRA_SUBDIRS = ("noarch", "win-64", "osx-arm64")


def index_channel(channel_dir: Path) -> None:
    """Write ``repodata.json`` for every subdir (plain JSON only: fast, debuggable)."""
    (Path(channel_dir) / "noarch").mkdir(parents=True, exist_ok=True)
    asyncio.run(index_fs(Path(channel_dir), write_zst=False, write_shards=False, force=True))


def write_packages(
    specs: Iterable[PackageSpec | Callable[[], PackageSpec]], channel_dir: Path
) -> list[Path]:
    """Write packages in parallel threads (bz2 and sha256 release the GIL).

    Callables are resolved inside the worker, so an expensive spec (python)
    is assembled while the small ones compress.
    """

    def one(item: PackageSpec | Callable[[], PackageSpec]) -> Path:
        spec = item if isinstance(item, PackageSpec) else item()
        return write_package(spec, channel_dir)

    workers = max(2, min(8, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, list(specs)))


def demo_specs(subdir: str | None = None) -> list[PackageSpec | Callable[[], PackageSpec]]:
    """Everything in the demo channel; the python package is built lazily."""
    subdir = subdir or current_subdir()
    items: list[PackageSpec | Callable[[], PackageSpec]] = []
    if subdir.startswith("linux-"):
        items.append(python_package_spec)
    items += catalog.demo_packages(subdir)
    if not subdir.startswith("win-"):
        items += [condapkgs.conda_posix(subdir, PY_XY), condapkgs.mamba_posix(subdir)]
    items += [
        condapkgs.conda_windows(PY_XY),
        condapkgs.mamba_windows(),
        catalog.python_windows(),
    ]
    for sd in sorted({subdir, "win-64", "osx-arm64"}):
        items.append(condapkgs.micromamba(sd))
    return items


def build_demo_channel(dest: Path) -> Path:
    """Build and index the demo channel in `dest` (created if needed); return it."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for sd in {current_subdir(), *EXTRA_SUBDIRS}:
        (dest / sd).mkdir(exist_ok=True)
    write_packages(demo_specs(), dest)
    index_channel(dest)
    return dest


def demo_channel_key() -> str:
    """Hash of every input of the demo channel: builder sources and the interpreter."""
    h = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        h.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    for part in (sys.version, sys.base_prefix, rattler.__version__, current_subdir()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def _prune(cache_root: Path, keep: Path, min_age: float = STALE_AFTER_SECONDS) -> None:
    """Remove killed builds and channels of older builder versions.

    Only entries untouched for `min_age` seconds go, so a build running in a
    concurrent session is never pulled from under it.
    """
    now = time.time()
    for entry in cache_root.iterdir():
        if entry == keep or not entry.name.startswith((".building-", "demo-")):
            continue
        try:
            if now - entry.stat().st_mtime > min_age:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


def build_demo_channel_cached(cache_root: Path) -> Path:
    """Return ``cache_root/demo-<key>``, building it first if absent.

    The build happens in a sibling temp dir that is renamed into place, so an
    interrupted build never leaves a half channel and concurrent builders (e.g.
    pytest-xdist workers) simply keep whichever copy landed first.
    """
    cache_root = Path(cache_root)
    cache_root.mkdir(parents=True, exist_ok=True)
    final = cache_root / f"demo-{demo_channel_key()}"
    if (final / "noarch" / "repodata.json").is_file():
        return final
    _prune(cache_root, keep=final)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=cache_root))
    try:
        build_demo_channel(tmp)
        try:
            tmp.rename(final)
        except OSError:
            if not (final / "noarch" / "repodata.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
