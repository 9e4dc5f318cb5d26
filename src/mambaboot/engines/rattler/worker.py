"""The rattler engine's child process: ``python -m mambaboot.engines.rattler.worker``.

py-rattler is native code and has been seen to segfault on a fresh cache, so
it runs here, not in the CLI's process: a crash becomes an exit status the
parent can explain, and the ``creating`` marker makes the leftovers harmless.

Protocol: one JSON request on stdin; JSON lines on the original stdout
(``{"event": ..., ...}``), ending in ``done`` or ``error``. Anything rattler
itself prints goes to stderr.
"""

# ruff: noqa: E402  (the parent-death guard must run before the slow imports below)
from __future__ import annotations

import contextlib
import os
import signal
import sys


def _die_with_parent() -> None:
    """If the CLI is killed (SIGKILL), stop installing into its prefix at once.

    Set before ``import rattler`` (~100 ms): a CLI killed during that import
    must not leave a worker that goes on to install into a prefix the next
    create is already cleaning, or holds the package cache's locks. Linux has a
    parent-death signal; the parent's pid in argv closes the race where the
    parent died before the signal was armed.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if len(sys.argv) > 1 and sys.argv[1].isdigit() and os.getppid() != int(sys.argv[1]):
        os._exit(1)  # the CLI is gone already


if __name__ == "__main__":
    _die_with_parent()

import asyncio
import json
import threading
from pathlib import Path
from typing import Any, TextIO

import rattler
from rattler.exceptions import (
    FetchRepoDataError,
    GatewayError,
    InvalidChannelError,
    InvalidMatchSpecError,
    SolverError,
)

from mambaboot import lockfile
from mambaboot.engines.rattler.engine import rattler_version
from mambaboot.errors import MambabootError
from mambaboot.packages.archive import Limits
from mambaboot.packages.fetch import ensure_archives
from mambaboot.packages.rules import Clobber, refuse
from mambaboot.packages.vet import vet
from mambaboot.testhooks import hook


class Events:
    """Writes one JSON line per event; a lock keeps lines whole (downloads emit from threads)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def __call__(self, event: str, **data: Any) -> None:
        line = json.dumps({"event": event, **data}) + "\n"
        with self.lock:
            self.stream.write(line)
            self.stream.flush()

    def relay(self, event: str, data: dict[str, Any]) -> None:
        """The ``(event, data)`` callback shape the library (``vet``, ``ensure_archives``) calls."""
        self(event, **data)


class Reporter(rattler.InstallerReporter):
    """Forwards rattler's install callbacks as coarse events (one per package).

    ``cached`` (rattler validated a package's cache entry) arrives before the
    first ``linked``, so the CLI shows that validation as work, not as "0 linked".
    """

    def __init__(self, emit: Events) -> None:
        self.emit = emit
        self.names: dict[int, str] = {}
        self.downloads = 0

    def on_transaction_start(self, total_operations: int) -> None:
        self.emit("install-start", total=total_operations)

    def on_link_start(self, operation: int, package_name: str) -> int:
        if not self.names:
            hook("link")
        self.names[operation] = package_name
        return operation

    def on_link_complete(self, index: int) -> None:
        self.emit("linked", name=self.names.get(index, ""))

    def on_populate_cache_start(self, operation: int, package_name: str) -> int:
        # fetching + extracting into the cache (file:// channels report no "download")
        if not self.downloads:
            hook("download")
        self.downloads += 1
        return operation

    def on_download_start(self, cache_entry: int) -> int:
        return cache_entry

    def on_download_completed(self, download_idx: int) -> None:
        self.emit("downloaded")

    def on_populate_cache_complete(self, cache_entry: int) -> None:
        self.emit("cached")

    def on_post_link_start(self, package_name: str, script_path: str) -> int:
        self.emit("post-link", name=package_name)
        return 0

    def on_transaction_complete(self) -> None:
        self.emit("install-done")


def record_summary(record: rattler.RepoDataRecord) -> dict[str, Any]:
    return {
        "name": record.name.normalized,
        "version": str(record.version),
        "build": str(record.build),
        "subdir": str(record.subdir),
        "channel": str(record.channel) if record.channel else None,
        "url": str(record.url),
        "sha256": record.sha256.hex() if record.sha256 else None,
        "md5": record.md5.hex() if record.md5 else None,
        "size": record.size,
    }


async def create(req: dict[str, Any], emit: Events) -> None:
    cache_action = "force-cache-only" if req.get("offline") else "cache-or-fetch"
    gateway = rattler.Gateway(cache_dir=req["repodata_cache"],
                              default_config=rattler.SourceConfig(cache_action=cache_action))
    emit("solve-start", specs=req["specs"])
    hook("solve")
    records = await rattler.solve(
        sources=req["channels"], specs=req["specs"], gateway=gateway,
        virtual_packages=rattler.VirtualPackage.detect(), channel_relations="disabled",
    )
    emit("solved", count=len(records))
    emit("check-start", total=len(records))
    local, clobbers = vet(records, Path(req["pkgs_dir"]), offline=bool(req.get("offline")),
                          limits=_limits(req), progress=emit.relay)
    await _install(records, req, emit, local)
    _finish(records, req["channels"], req, emit, clobbers)


async def from_lock(req: dict[str, Any], emit: Events) -> None:
    """Install exactly the locked records: no solve, every archive verified first."""
    path = Path(req["lock"])
    pkgs = Path(req["pkgs_dir"])
    source = Path(req["bundle"]) if req.get("bundle") else None
    emit("solve-start", specs=[f"lockfile {path.name}"])
    if lockfile.is_explicit(path):
        wanted = lockfile.read_explicit(path)
        archives = ensure_archives(wanted, pkgs, offline=bool(req.get("offline")),
                                   source_dir=source, need_archive=True, progress=emit.relay)
        records = await lockfile.records_from_archives(wanted, archives)
        channels = sorted({lockfile.channel_of_url(w.url) for w in wanted})
    else:
        records, channels = lockfile.read_lock(path)
        archives = ensure_archives(lockfile.wanted_of(records), pkgs,
                                   offline=bool(req.get("offline")), source_dir=source,
                                   progress=emit.relay)
    emit("solved", count=len(records))
    emit("check-start", total=len(records))
    local, clobbers = vet(records, pkgs, known=archives, limits=_limits(req),
                          progress=emit.relay)
    await _install(records, req, emit, local)
    _finish(records, channels, req, emit, clobbers)


async def _install(records: list[rattler.RepoDataRecord], req: dict[str, Any],
                   emit: Events, local: dict[str, Path]) -> None:
    """Link the vetted ``records``; ``local`` maps names to verified archives to link from.

    Linking from the checked local file (not the URL) means the bytes pkgcheck
    validated are the bytes rattler extracts; conda-meta gets the real origin back.
    """
    originals = {r.name.normalized: (r.url, r.channel) for r in records}
    for record in records:
        if record.name.normalized in local:
            record.url = local[record.name.normalized].as_uri()
    hook("install")
    await rattler.install(
        records, target_prefix=req["prefix"], cache_dir=req["pkgs_dir"], show_progress=False,
        reporter=Reporter(emit), execute_link_scripts=bool(req.get("allow_link_scripts")),
        # py-rattler 0.28 hands the Python wrapper straight to Rust, which wants
        # the inner object; without it install() raises a TypeError.
        requested_specs=[rattler.MatchSpec(s)._match_spec for s in req.get("specs", [])],
    )
    for record in records:
        record.url, record.channel = originals[record.name.normalized]
    if local:
        emit("origins")  # rewrites every conda-meta record: seconds on a large create
        lockfile.restore_origins(Path(req["prefix"]), records)


def _limits(req: dict[str, Any]) -> Limits:
    given = req.get("limits") or {}
    return Limits(**{k: int(v) for k, v in given.items() if k in Limits.__dataclass_fields__})


def _finish(records: list[rattler.RepoDataRecord], channels: list[str], req: dict[str, Any],
            emit: Events, clobbers: list[Clobber] | None = None) -> None:
    prefix = Path(req["prefix"])
    emit("lockfile")
    lock = prefix / ".mambaboot" / "lock.yml"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lockfile.write_lock(records, channels, lock)
    emit("done", records=[record_summary(r) for r in records], engine_version=rattler_version(),
         channels=channels, clobbers=[{"path": c.path, "packages": list(c.packages)}
                                      for c in clobbers or []])


async def refresh_lock(req: dict[str, Any], emit: Events) -> None:
    """Rewrite the prefix's lockfile from conda-meta (after conda/mamba changed the env)."""
    prefix = Path(req["prefix"])
    records = lockfile.prefix_records(prefix)
    lockfile.write_lock(records, req["channels"], prefix / ".mambaboot" / "lock.yml")
    emit("done", records=[record_summary(r) for r in records], engine_version=rattler_version(),
         channels=req["channels"])


class PlannedRecord:
    """A package another engine (micromamba) is about to link, as ``vet`` reads records.

    Built from micromamba's ``create --dry-run --json`` LINK entries, which carry
    the same fields as repodata (name, version, build, fn, url, sha256).
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.name = rattler.PackageName(str(data["name"]))
        self.file_name = str(data.get("fn") or "")
        self.version = str(data.get("version") or "")
        self.build = str(data.get("build") or data.get("build_string") or "")
        self.url = str(data.get("url") or "")
        digest = str(data.get("sha256") or "")
        self.sha256 = bytes.fromhex(digest) if digest else None
        self.python_site_packages_path = data.get("python_site_packages_path")

    def to_json(self) -> str:
        """What the engine itself would write as ``info/repodata_record.json``."""
        return json.dumps(self.data, indent=2)


async def vet_planned(req: dict[str, Any], emit: Events) -> None:
    """Vet and unpack another engine's planned packages into the shared cache.

    The micromamba engine then links offline from exactly these checked trees
    (their ``repodata_record.json`` makes them valid cache entries for it).
    """
    records = [PlannedRecord(d) for d in req["records"]]
    emit("solved", count=len(records))
    hook("download")  # the planned packages are fetched and unpacked from here on
    pkgs = Path(req["pkgs_dir"])
    _local, clobbers = vet(records, pkgs, offline=bool(req.get("offline")),
                           limits=_limits(req), progress=emit.relay)
    if not req.get("allow_link_scripts"):
        _refuse_link_scripts(records, pkgs)
    emit("done", records=[], engine_version=rattler_version(), channels=[],
         clobbers=[{"path": c.path, "packages": list(c.packages)} for c in clobbers])


def _refuse_link_scripts(records: list[PlannedRecord], pkgs: Path) -> None:
    """micromamba always runs post-link scripts (it has no switch to skip them)."""
    for record in records:
        dist = record.file_name.removesuffix(".conda").removesuffix(".tar.bz2")
        name = record.name.normalized
        for script in (f"bin/.{name}-post-link.sh", f"Scripts/.{name}-post-link.bat"):
            if (pkgs / dist / script).exists():
                raise refuse(record.file_name, f"it has a post-link script ({script}), which "
                             "micromamba always runs; pass --allow-link-scripts to allow it, or "
                             "use the embedded engine, which skips link scripts")


OPS = {"create": create, "from-lock": from_lock, "refresh-lock": refresh_lock,
       "vet": vet_planned}


def classify(exc: BaseException) -> str:
    if isinstance(exc, SolverError):
        return "solve"
    if isinstance(exc, InvalidMatchSpecError):
        return "spec"
    if isinstance(exc, FetchRepoDataError | GatewayError | InvalidChannelError):
        return "channel"
    return "engine"


def main() -> int:
    events_fd = os.dup(1)
    os.dup2(2, 1)  # whatever the native code prints must not corrupt the event stream
    emit = Events(os.fdopen(events_fd, "w", encoding="utf-8"))
    request = json.loads(sys.stdin.read())
    try:
        asyncio.run(OPS[request.get("op", "create")](request, emit))
    except MambabootError as exc:  # ours: rebuilt as the same class by the parent
        emit("error", kind="mambaboot", **exc.to_json())
        return 1
    except Exception as exc:  # every failure is reported to the parent
        emit("error", kind=classify(exc), type=type(exc).__name__, message=str(exc))
        return 1
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Every event is written and flushed by now. Interpreter finalisation only
    # costs time (~30 ms of thread and module teardown per create) and can abort
    # after py-rattler work ("PyGILState_Release ... finalizing", seen after an
    # HTTP install), which would turn a finished create into an engine crash.
    os._exit(status)
