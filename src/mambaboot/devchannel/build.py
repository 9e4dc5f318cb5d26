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
from typing import TypeAlias

import rattler
from rattler.index import index_fs

from mambaboot.devchannel import catalog, condapkgs, realpkgs, wheels
from mambaboot.devchannel.archive import write_package
from mambaboot.devchannel.pythonpkg import PY_XY, python_package_spec
from mambaboot.devchannel.spec import PackageSpec, current_subdir

#: A package, or a function producing one or several (run in a worker thread).
SpecSource: TypeAlias = "PackageSpec | Callable[[], PackageSpec | list[PackageSpec]]"

#: Cache entries (other keys, killed builds) older than this are deleted.
STALE_AFTER_SECONDS = 3600.0

#: Subdirs the demo channel always has, besides the current platform's.
EXTRA_SUBDIRS = ("noarch", "win-64", "osx-arm64")


def index_channel(channel_dir: Path) -> None:
    """Write ``repodata.json`` for every subdir (plain JSON only: fast, debuggable)."""
    (Path(channel_dir) / "noarch").mkdir(parents=True, exist_ok=True)
    # repodata.json.zst too: mamba and micromamba ask for it first and warn when it is missing
    asyncio.run(index_fs(Path(channel_dir), write_zst=False, write_shards=False, force=True))


def write_packages(specs: Iterable[SpecSource], channel_dir: Path) -> list[Path]:
    """Write packages in parallel threads (bz2, zstd and sha256 release the GIL).

    Callables are resolved inside the worker, so an expensive spec (python, or
    the real conda and its wheels, which yield a list) is assembled while the
    small ones compress.
    """

    def one(item: SpecSource) -> list[Path]:
        made = item if isinstance(item, PackageSpec) else item()
        return [write_package(s, channel_dir) for s in (made if isinstance(made, list) else [made])]

    workers = max(2, min(8, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [path for paths in pool.map(one, list(specs)) for path in paths]


def _real_or_standin_managers(
    subdir: str, material: realpkgs.SharedMaterial | None, wheel_cache: Path, say: bool
) -> list[SpecSource]:
    """The real conda/mamba (+ conda's libraries, pip) when ../shared has them, else stand-ins.

    Falling back is announced in one line on stderr (when `say`), because a
    channel whose conda only answers ``--version`` tests much less.
    """
    items: list[SpecSource] = []
    linux = subdir.startswith("linux-")
    real_conda = linux and material is not None and material.has_conda
    real_mamba = linux and material is not None and material.mamba_binary is not None
    if real_conda:
        assert material is not None
        items.append(lambda: _real_conda_or_standin(subdir, material, wheel_cache))
    else:
        items.append(condapkgs.conda_posix(subdir, PY_XY))
        if linux:  # mamba and micromamba make pip a dependency of python
            items.append(lambda: _pip_only(wheel_cache))
    if real_mamba:
        assert material is not None
        items.append(lambda: realpkgs.mamba_package(material))
    else:
        items.append(condapkgs.mamba_posix(subdir))
    missing = [name for name, real in (("conda", real_conda), ("mamba", real_mamba)) if not real]
    if say and missing:
        where = ", ".join(str(p) for p in realpkgs.candidates())
        print(f"devchannel: no real {' and '.join(missing)} material found (looked in {where}; "
              f"set ${realpkgs.SHARED_ENV}), so this channel carries STAND-IN "
              f"{' and '.join(missing)} that only answer --version", file=sys.stderr)
    return items


def _real_conda_or_standin(
    subdir: str, material: realpkgs.SharedMaterial, wheel_cache: Path
) -> list[PackageSpec]:
    """The real conda and its wheels; the stand-in (said on stderr) when PyPI cannot be reached."""
    try:
        return realpkgs.conda_packages(material, wheel_cache)
    except wheels.WheelError as exc:
        print(f"devchannel: the real conda needs wheels from PyPI and they could not be "
              f"fetched, so this channel carries a STAND-IN conda ({exc})", file=sys.stderr)
        return [condapkgs.conda_posix(subdir, PY_XY), *_pip_only(wheel_cache)]


def _pip_only(wheel_cache: Path) -> list[PackageSpec]:
    """``pip`` alone (the stand-in conda needs none of the other wheels)."""
    try:
        paths = wheels.fetch_wheels({"pip": wheels.PINS["pip"]}, wheel_cache)
    except wheels.WheelError as exc:
        print(f"devchannel: no pip package in this channel ({exc})", file=sys.stderr)
        return []
    wheel = wheels.Wheel.read("pip", paths["pip"])
    return [wheels.wheel_package(wheel, {"pip": "pip"})]


def demo_specs(
    subdir: str | None = None,
    material: realpkgs.SharedMaterial | None = None,
    wheel_cache: Path | None = None,
    say: bool = False,
) -> list[SpecSource]:
    """Everything in the demo channel; python and the real managers are built lazily."""
    subdir = subdir or current_subdir()
    items: list[SpecSource] = []
    if subdir.startswith("linux-"):
        items.append(python_package_spec)
    items += catalog.demo_packages(subdir)
    if not subdir.startswith("win-"):
        items += _real_or_standin_managers(
            subdir, material, wheel_cache or wheels.default_wheel_cache(), say)
    items += [
        condapkgs.conda_windows(PY_XY),
        condapkgs.mamba_windows(),
        catalog.python_windows(),
    ]
    for sd in sorted({subdir, "win-64", "osx-arm64"}):
        items.append(condapkgs.micromamba(sd))
    return items


def build_demo_channel(dest: Path, wheel_cache: Path | None = None) -> Path:
    """Build and index the demo channel in `dest` (created if needed); return it.

    The real conda and mamba come from the shared material when
    `realpkgs.find_shared_dir` finds it (their wheels cached in `wheel_cache`,
    default `wheels.default_wheel_cache`); otherwise stand-ins, said on stderr.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for sd in {current_subdir(), *EXTRA_SUBDIRS}:
        (dest / sd).mkdir(exist_ok=True)
    write_packages(demo_specs(material=realpkgs.find_shared_dir(), wheel_cache=wheel_cache,
                              say=True), dest)
    index_channel(dest)
    return dest


def demo_channel_key() -> str:
    """Hash of every input of the demo channel: builder sources, interpreter, shared files."""
    h = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        h.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    for part in (sys.version, sys.base_prefix, rattler.__version__, current_subdir()):
        h.update(part.encode() + b"\0")
    material = realpkgs.find_shared_dir()
    for digest in material.digests() if material is not None else ["no-shared-material"]:
        h.update(digest.encode() + b"\0")
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
        build_demo_channel(tmp, wheel_cache=cache_root / "wheels")
        try:
            tmp.rename(final)
        except OSError:
            if not (final / "noarch" / "repodata.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
