"""create: engine -> scan -> conda files -> activation -> verify and lockfile -> manifest.

The ``creating`` marker is written before the engine touches the prefix and
removed only after verification passed, so any crash, kill or Ctrl-C in
between leaves something ``list`` reports as incomplete and the next create
replaces. On ordinary failures the partial prefix is removed right away.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from mambaboot import __version__, activation, child, condaenv, lockfile, testhooks
from mambaboot.activation.cleanenv import require_clean_shell
from mambaboot.engines import DEFAULT_ENGINE, get_engine
from mambaboot.engines.base import InstallOutcome
from mambaboot.engines.rattler import WORKER
from mambaboot.envlock import create_workspace, env_lock
from mambaboot.errors import (
    EnvironmentExistsError,
    MambabootError,
    UsageError,
    VerificationError,
)
from mambaboot.events import ProgressCallback, no_progress
from mambaboot.fsutil import link_dir, remove_tree
from mambaboot.locations import Cache
from mambaboot.packages.transaction import scan_prefix
from mambaboot.platforms import current_subdir, for_shell
from mambaboot.prefix import Prefix, Status
from mambaboot.results import CreateResult
from mambaboot.spec import CreateRequest
from mambaboot.verify.checks import installed_records, record_paths, smoke_checks


def create(request: CreateRequest, prefix_path: Path, cache: Cache, *,
           engine: str = DEFAULT_ENGINE, progress: ProgressCallback = no_progress,
           check_shell: bool = True, templates: Sequence[Path] = (),
           engine_options: Mapping[str, Any] | None = None) -> CreateResult:
    """Create the environment described by ``request`` at ``prefix_path``.

    ``engine_options`` go to the engine's constructor (``--micromamba-version`` ...).
    """
    if check_shell:
        require_clean_shell()
    started = time.monotonic()
    progress = _with_test_hooks(progress)
    if request.lock and engine != DEFAULT_ENGINE:
        raise UsageError("--from-lock and --from-bundle use the embedded engine; "
                         "drop --engine.")
    backend = get_engine(engine, **(engine_options or {}))
    prefix = Prefix(prefix_path)
    # One rattler worker for the whole create, started now so its `import rattler`
    # overlaps our checks: it installs (or vets, for micromamba), then writes the
    # lockfile. Killed on any failure before the partial prefix is cleaned up.
    # Root and cache are checked and made here; on failure what this run made is
    # taken back.
    with child.Worker.take(WORKER) as worker, \
            create_workspace(prefix_path, cache), env_lock(prefix_path, "create"):
        _clear_target(prefix, progress)
        with _partial_prefix(prefix, worker):
            outcome = backend.install(request, prefix_path, cache, progress, worker)
            pypi_count = _install_pypi(request, outcome, prefix, cache, progress)
            # The backstop for every engine: no symlink may point out of the prefix
            # (runs before the pkgs link to the cache, which is ours, exists). The
            # rattler worker checked every symlink its vetted packages ship; PyPI
            # installs and other engines get the walk of the whole prefix.
            if not outcome.links_checked or pypi_count:
                progress("scan", {})
                scan_prefix(prefix_path)
            clobbers = _name_winners(prefix_path, outcome.clobbers)
            channels = list(outcome.channels or request.channels)
            condaenv.prepare(prefix_path, outcome.records, request.specs, channels,
                             command=f"mambaboot create {request.name}"
                                     + (" --from-lock" if request.lock else ""),
                             version=__version__)
            progress("finishing", {})
            link_dir(prefix.pkgs_link, cache.pkgs)
            _drop_cache_tag(prefix_path)
            activation.prepare(prefix_path, request.name, templates)
            progress("verify", {})
            # The smoke test (its own processes) runs while the worker writes the lock;
            # leaving the pool waits for it, on failure too, before anything is removed.
            with ThreadPoolExecutor(1) as pool:
                smoke = pool.submit(smoke_checks, prefix, request.name)
                # One step for every engine: the lock is read off conda-meta (what is installed)
                progress("lockfile", {})
                lockfile.write(prefix_path, channels, progress=progress, worker=worker)
                checks, python_version = smoke.result()
            failed = [c for c in checks if not c.ok]
            if failed:
                raise VerificationError(
                    f"The new environment does not work ({failed[0].name}: {failed[0].detail}); "
                    "it was removed, check the channel's packages and try again.")
            prefix.write_manifest({
                "name": request.name, "specs": request.specs, "requested_python": request.python,
                "channels": channels, "engine": backend.name,
                "source": "lockfile" if request.lock else "solve",
                "engine_version": outcome.engine_version, "platform": current_subdir(),
                "python_version": python_version, "package_count": len(outcome.records),
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "mambaboot_version": __version__, "clobbers": clobbers,
            })
            prefix.creating_marker.unlink()
    return CreateResult(
        prefix=prefix_path, name=request.name, python_version=python_version or "",
        package_count=len(outcome.records), engine=backend.name,
        engine_version=outcome.engine_version, channels=tuple(channels),
        specs=tuple(request.specs), seconds=round(time.monotonic() - started, 3),
        written=(prefix_path, cache.root, cache.pkgs), clobbers=tuple(clobbers),
        pypi_count=pypi_count,
    )


def _install_pypi(request: CreateRequest, outcome: InstallOutcome, prefix: Prefix, cache: Cache,
                  progress: ProgressCallback) -> int:
    """PyPI packages after the conda ones: a ``pip:`` section resolved, or a lock's wheels.

    Returns how many were installed."""
    if request.pypi is None and not outcome.pypi:
        return 0
    from mambaboot import pypi as pypi_mod
    from mambaboot.bundle import WHEELS

    python = prefix.python()
    if not python.exists():
        raise UsageError("PyPI packages need python in the environment, and it has none; add "
                         "python to the dependencies.")
    if request.pypi is not None:
        section = request.pypi
        if request.offline:
            section = replace(section, options=(*section.options, "--offline"))
        wheels = pypi_mod.resolve_install(prefix.path, python, section, cache.root, progress)
    else:
        wheels = [pypi_mod.Wheel.from_json(w) for w in outcome.pypi]
        source = Path(request.bundle).parent / WHEELS if request.bundle else None
        files = pypi_mod.fetch_wheels(wheels, cache.root / "wheels", source=source,
                                      offline=request.offline, progress=progress)
        pypi_mod.install_exact(python, wheels, files, cache.root, progress)
    conda = {path: str(record.get("name")) for record in installed_records(prefix.path)
             for path in record_paths(record)}
    pypi_mod.check_owned(prefix.path, wheels, conda)
    options = [o for o in request.pypi.options if o != "--offline"] if request.pypi else []
    pypi_mod.record(prefix.path, wheels, options)
    return len(wheels)


def _with_test_hooks(progress: ProgressCallback) -> ProgressCallback:
    """Every event passes ``testhooks`` once it is drawn (inert unless a test set them)."""
    def relay(event: str, data: dict[str, Any]) -> None:
        progress(event, data)
        testhooks.on_event(event)
    return relay


def _clear_target(prefix: Prefix, progress: ProgressCallback) -> None:
    status = prefix.status
    if status is Status.OK:
        raise EnvironmentExistsError(
            f"An environment already exists at {prefix.path}; remove it first with "
            f"'mambaboot remove {for_shell(prefix.path)}' or choose another name.")
    if status is Status.INCOMPLETE:
        # ours by proof (prefix.status): removed with the creating marker last
        progress("cleanup", {"path": str(prefix.path)})
        leftovers = prefix.destroy()
        if leftovers:
            raise MambabootError(
                f"Could not remove the failed create at {prefix.path} ({leftovers[0]} is left); "
                "close programs using it, then run 'mambaboot remove' on it and create again.")
    elif status is None and prefix.parked_meta.is_dir() and not prefix.parked_meta.is_symlink():
        remove_tree(prefix.parked_meta)  # a stray parked marker must not outlive its prefix
    elif status is Status.FOREIGN and (prefix.path.is_symlink() or not prefix.path.is_dir()
                                       or any(prefix.path.iterdir())):
        raise EnvironmentExistsError(
            f"{prefix.path} exists and is not a mambaboot environment; choose another name "
            "or --root, mambaboot never writes into a directory it did not create.")


@contextlib.contextmanager
def _partial_prefix(prefix: Prefix, worker: child.Worker) -> Iterator[None]:
    """Mark the prefix as being created; on any failure (or Ctrl-C) remove it again.

    The worker is stopped first: nothing may still write into the prefix while
    it is being removed.
    """
    prefix.meta.mkdir(parents=True, exist_ok=True)
    prefix.creating_marker.write_text(f"pid {os.getpid()}\n", encoding="utf-8")
    try:
        yield
    except BaseException as exc:
        worker.kill()
        # destroy() deletes the creating marker last: a second Ctrl-C or a SIGKILL
        # during this clean-up still leaves a tree marked as an unfinished create
        leftovers = prefix.destroy()
        if leftovers and isinstance(exc, MambabootError):
            exc.details = ((exc.details or "") + f"\ncould not remove: {leftovers[0]}").strip()
        raise


def _name_winners(prefix: Path, clobbers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add which package's file each engine left at a clobbered path, from conda-meta.

    Engines decide differently (rattler keeps one and records the others under
    ``__clobbers__/``); conda-meta, the engine's own record, says who won.
    """
    if not clobbers:
        return []
    owner: dict[str, str] = {}
    for record in (prefix / "conda-meta").glob("*.json"):
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(record.read_text(encoding="utf-8"))
            for path in data.get("files", []):
                owner[path] = str(data.get("fn") or record.stem)
    return [{**c, "installed": owner.get(c["path"])} for c in clobbers]


def _drop_cache_tag(prefix: Path) -> None:
    """Remove the CACHEDIR.TAG rattler leaves in the prefix (unless a package owns one).

    Backup tools that honour cache tags would otherwise skip the whole
    environment, which is the opposite of what a rebuildable unit wants.
    """
    tag = prefix / "CACHEDIR.TAG"
    if not tag.is_file():
        return
    if any(_owns_cache_tag(meta) for meta in (prefix / "conda-meta").glob("*.json")):
        return
    with contextlib.suppress(OSError):
        tag.unlink()


def _owns_cache_tag(meta: Path) -> bool:
    """Whether this conda-meta record lists ``CACHEDIR.TAG``.

    Only records whose text mentions the name are parsed: parsing every
    record's ``paths_data`` cost ~0.3 ms per package on every create.
    """
    try:
        data = meta.read_bytes()
    except OSError:
        return False
    if b"CACHEDIR.TAG" not in data:
        return False
    try:
        record = json.loads(data)
    except ValueError:
        return False
    return isinstance(record, dict) and "CACHEDIR.TAG" in record_paths(record)
