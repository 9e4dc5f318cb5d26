"""``bundle ENV OUT`` and ``create --from-bundle OUT``: rebuild with no network at all.

A bundle is a folder (or one ``.tar`` of it) holding ``lock.yml``, every
package archive under ``pkgs/``, every PyPI wheel under ``wheels/`` and a
small ``bundle.json``. Every archive and wheel is
verified against the lockfile's sha256 when the bundle is written *and* when it
is used, so a bundle carried on a USB stick cannot smuggle in other bytes.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mambaboot import __version__
from mambaboot.errors import UsageError
from mambaboot.events import ProgressCallback, no_progress
from mambaboot.locations import Cache
from mambaboot.results import BundleResult

BUNDLE_MARKER = "bundle.json"
#: Where a bundle keeps PyPI wheels, next to ``pkgs/``.
WHEELS = "wheels"


def bundle_env(env: Path, out: Path, cache: Cache, *, own_cache: bool = True,
               progress: ProgressCallback = no_progress) -> BundleResult:
    """``mambaboot bundle``: the environment at ``env`` -> a new folder or ``.tar`` ``out``.

    The archives come from the cache the environment was made with (its
    ``pkgs`` link) when ``own_cache``, else from ``cache``, and are downloaded
    there when missing.
    """
    from mambaboot.platforms import for_shell
    from mambaboot.prefix import require_env

    prefix = require_env(env)
    if not prefix.lockfile.is_file():
        raise UsageError(f"{prefix.path} has no lockfile; run "
                         f"'mambaboot lock {for_shell(prefix.path)}' first.")
    out = Path(out).expanduser().absolute()
    if out.suffix == ".tar" and out.exists():
        raise UsageError(f"{out} already exists; choose a new name.")
    pkgs = (prefix.pkgs_link.resolve() if own_cache and prefix.pkgs_link.is_symlink()
            else cache.pkgs)
    return write_bundle(prefix.lockfile, pkgs, out, progress)


def write_bundle(lock: Path, pkgs: Path, out: Path,
                 progress: ProgressCallback = no_progress) -> BundleResult:
    """Write the bundle for the environment whose lockfile is ``lock``.

    ``progress`` hears the warnings (a cached archive replaced by a fresh copy).
    """
    from mambaboot import lockfile
    from mambaboot.locations import fs_error
    from mambaboot.packages.fetch import copy_into, ensure_archives

    if pkgs.exists() and not pkgs.is_dir():
        raise UsageError(f"The package cache {pkgs} is a file, not a folder; move it away or "
                         "choose another folder with --cache.")
    from mambaboot.pypi import fetch_wheels

    # in the rattler worker: no rattler in this process
    wanted, wheels = lockfile.read_wanted(lock)
    try:
        archives = ensure_archives(wanted, pkgs, need_archive=True, progress=progress)
        # PyPI wheels: checked against the lock's sha256, kept next to the package cache
        wheel_files = fetch_wheels(wheels, pkgs.parent / "wheels")
    except OSError as exc:  # a read-only cache that must fetch a missing archive, a full disk
        raise fs_error(exc, "package cache", pkgs) from exc
    as_tar = out.suffix == ".tar"
    folder = Path(tempfile.mkdtemp(prefix=".bundle-", dir=out.parent)) if as_tar else out
    try:
        if not as_tar and out.exists() and any(out.iterdir()):
            raise UsageError(f"{out} exists and is not empty; choose a new folder or a .tar name.")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(lock, folder / "lock.yml")
        copy_into([a for a in archives.values() if a is not None], folder / "pkgs")
        if wheel_files:
            copy_into(wheel_files.values(), folder / WHEELS)
        (folder / BUNDLE_MARKER).write_text(json.dumps(
            {"format": 1, "mambaboot_version": __version__, "packages": len(wanted),
             "wheels": len(wheels)}) + "\n")
        if as_tar:
            tmp = out.with_name(out.name + ".part")
            with tarfile.open(tmp, "w") as tar:
                for item in sorted(folder.rglob("*")):
                    tar.add(item, arcname=str(item.relative_to(folder)), recursive=False)
            tmp.replace(out)
    finally:
        if as_tar:
            shutil.rmtree(folder, ignore_errors=True)
    return BundleResult(out, len(wanted) + len(wheels))


@contextlib.contextmanager
def opened_bundle(path: Path, scratch: Path) -> Iterator[tuple[Path, Path]]:
    """Yield (lockfile, archive folder) of a bundle folder or .tar (extracted safely)."""
    if path.is_file() and tarfile.is_tarfile(path):
        from mambaboot.envlock import claimed_dir

        # extracted inside the cache (same disk as the packages); a cache this run
        # makes is taken back if the create fails, like create's own
        with claimed_dir(scratch, "cache"):
            folder = Path(tempfile.mkdtemp(prefix=".bundle-", dir=scratch))
            try:
                with tarfile.open(path) as tar:
                    tar.extractall(folder, filter="data")  # refuses ../, absolute paths, devices
                yield _check(folder, path)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    elif path.is_dir():
        yield _check(path, path)
    elif not path.exists():
        raise UsageError(f"The bundle {path} does not exist; check the path given to "
                         "--from-bundle (write one with 'mambaboot bundle ENV OUT').")
    else:
        raise UsageError(f"The bundle {path} is neither a folder nor a .tar; "
                         "write one with 'mambaboot bundle ENV OUT'.")


def _check(folder: Path, given: Path) -> tuple[Path, Path]:
    if not (folder / BUNDLE_MARKER).is_file() or not (folder / "lock.yml").is_file():
        raise UsageError(f"{given} is not a mambaboot bundle (no bundle.json/lock.yml); "
                         "write one with 'mambaboot bundle ENV OUT'.")
    return folder / "lock.yml", folder / "pkgs"
