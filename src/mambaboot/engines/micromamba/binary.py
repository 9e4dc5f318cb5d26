"""The micromamba binary: which version, for which platform, from where, and is it intact.

The version is pinned (``MICROMAMBA_VERSION``), never "latest": the releases'
``latest`` once pointed at a release candidate (mamba-org/mamba#3349), and a
bootstrapper must give the same result next month as today.

Two sources, both verified before anything is cached:

* ``release``: ``{base}/{version}/micromamba-{subdir}`` and its
  ``.sha256`` (a bare hex digest) from mamba-org/micromamba-releases, or from
  a mirror named by ``MAMBABOOT_MICROMAMBA_URL``;
* ``channel``: the ``micromamba`` conda package from the configured channels
  (sha256 from repodata), see ``mambaboot.engines.micromamba.channel``;
``mambaboot.engines.micromamba.obtain`` picks the route.

Either way the binary lands at ``CACHE/micromamba/{version}/{subdir}/micromamba[.exe]``
next to ``origin.json`` (its digest and where it came from), which is what
every later use and ``mambaboot micromamba verify`` re-check.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mambaboot import platforms
from mambaboot.errors import ChecksumError, MissingBinaryError, UsageError
from mambaboot.fsutil import write_json
from mambaboot.locations import Cache
from mambaboot.results import BinaryInfo

if TYPE_CHECKING:  # httpx costs ~60 ms: only loaded when something is really fetched
    pass

#: The pinned default; bump deliberately (and the README) after trying the new release.
MICROMAMBA_VERSION = "2.3.3-0"
RELEASE_BASE = "https://github.com/mamba-org/micromamba-releases/releases/download"
MIRROR_VAR = "MAMBABOOT_MICROMAMBA_URL"
SOURCES = ("release", "channel")
SUBDIRS = ("linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64")
ORIGIN = "origin.json"


def current_subdir(system: str | None = None, machine: str | None = None) -> str:
    """The conda subdir of the running machine, among those micromamba is released for."""
    subdir = platforms.current_subdir(system, machine)
    if subdir not in SUBDIRS:
        raise UsageError(f"micromamba is not released for this machine ({subdir}); "
                         f"use the default engine (--engine rattler) or --platform one of "
                         f"{', '.join(SUBDIRS)}.")
    return subdir


def check_subdir(subdir: str) -> str:
    if subdir not in SUBDIRS:
        raise UsageError(f"Unknown micromamba platform {subdir!r}; choose one of "
                         f"{', '.join(SUBDIRS)}.")
    return subdir


def check_version(version: str) -> str:
    """Versions look like ``2.3.3-0``; anything else could escape the cache directory."""
    ok = version and all(c.isalnum() or c in ".-_+" for c in version) and version[0].isdigit()
    if not ok:
        raise UsageError(f"The micromamba version {version!r} is not like {MICROMAMBA_VERSION}; "
                         "pass --micromamba-version X.Y.Z-N.")
    return version


def exe_name(subdir: str) -> str:
    return "micromamba.exe" if subdir.startswith("win-") else "micromamba"


def binary_path(cache: Cache, version: str, subdir: str) -> Path:
    return cache.micromamba / version / subdir / exe_name(subdir)


def release_url(version: str, subdir: str, environ: Mapping[str, str] | None = None) -> str:
    """The release asset URL; ``MAMBABOOT_MICROMAMBA_URL`` is a base or a ``{version}`` template.

    The Windows asset has no ``.exe`` suffix upstream; we save it as ``micromamba.exe``.
    """
    env = os.environ if environ is None else environ
    base = env.get(MIRROR_VAR, "").strip() or RELEASE_BASE
    if "{" in base:
        return base.format(version=version, subdir=subdir)
    return f"{base.rstrip('/')}/{version}/micromamba-{subdir}"


def read_origin(cache: Cache, version: str, subdir: str) -> BinaryInfo | None:
    """The cached binary's record, or None when there is no complete cache entry."""
    path = binary_path(cache, version, subdir)
    try:
        data = json.loads((path.parent / ORIGIN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not path.is_file() or not isinstance(data, dict) or "sha256" not in data:
        return None
    return BinaryInfo(path=path, version=version, subdir=subdir, sha256=str(data["sha256"]),
                      source=str(data.get("source", "")), url=str(data.get("url", "")),
                      fetched=str(data.get("fetched", "")))


def write_origin(path: Path, version: str, subdir: str, *, sha256: str, source: str,
                 url: str, **extra: str) -> BinaryInfo:
    """Record a verified binary; written after the binary so a crash leaves no false record."""
    fetched = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    data = {"version": version, "subdir": subdir, "sha256": sha256, "source": source,
            "url": url, "fetched": fetched, **extra}
    write_json(path.parent / ORIGIN, data, sort_keys=True)
    return BinaryInfo(path, version, subdir, sha256, source, url, fetched, downloaded=True)


def require_cached(cache: Cache, version: str, subdir: str) -> BinaryInfo:
    """The cache entry (not re-hashed), or an error that names the fetch command."""
    info = read_origin(cache, version, subdir)
    if info is None:
        command = "mambaboot micromamba fetch"
        if version != MICROMAMBA_VERSION:
            command += f" --micromamba-version {version}"
        if subdir != current_subdir():
            command += f" --platform {subdir}"
        raise MissingBinaryError(
            f"micromamba {version} for {subdir} is not in the cache "
            f"({binary_path(cache, version, subdir)}); fetch it once while online with "
            f"'{command}' (plus your --cache/--root if any).")
    return info


def verify_cached(cache: Cache, version: str, subdir: str, pin: str | None = None) -> BinaryInfo:
    """Re-hash the cached binary against its record (and the pin); raise when it differs."""
    from mambaboot.fsutil import sha256_file
    from mambaboot.net import normalize_digest

    info = require_cached(cache, version, subdir)
    actual = sha256_file(info.path)
    expected = normalize_digest(pin, "--micromamba-sha256") if pin else info.sha256
    if actual != expected or actual != info.sha256:
        raise ChecksumError(
            f"The cached micromamba at {info.path} does not match: expected {expected}, "
            f"got {actual}; it will not be run, fetch it again with 'mambaboot micromamba fetch'.")
    return info
