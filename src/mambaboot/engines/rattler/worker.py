"""The rattler engine's child process: ``python -m mambaboot.engines.rattler.worker``.

py-rattler is native code and has been seen to segfault on a fresh cache, so
it runs here, not in the CLI's process: a crash becomes an exit status the
parent can explain, and the ``creating`` marker makes the leftovers harmless.
The protocol (one JSON request, JSON-lines events ending in ``done`` or
``error``) is ``child``'s; what is rattler's own is here: the
operations, and how rattler's exceptions become our errors (``classify``).
"""

# The parent-death guard must run before the slow imports below (rattler: ~100 ms).
from __future__ import annotations

if __name__ == "__main__":
    from mambaboot.child import die_with_parent

    die_with_parent()

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import rattler
from rattler.exceptions import (
    FetchRepoDataError,
    GatewayError,
    InvalidChannelError,
    InvalidMatchSpecError,
    SolverError,
)

from mambaboot import objectstore
from mambaboot.child import Events, condense, serve
from mambaboot.engines.rattler import lockrecords
from mambaboot.errors import (
    ChannelError,
    EngineError,
    MambabootError,
    SolveError,
    UnsafePackageError,
    UsageError,
)
from mambaboot.fsutil import remove_tree
from mambaboot.packages import explicit
from mambaboot.packages.fetch import ensure_archives
from mambaboot.packages.limits import Limits
from mambaboot.packages.rules import Clobber, refuse
from mambaboot.packages.transaction import check_linked
from mambaboot.packages.vet import Pending, Watch, forget_vetted, vet
from mambaboot.prefix import META_DIR

CacheAction = Literal["cache-or-fetch", "use-cache-only", "force-cache-only", "no-cache"]


class Reporter(rattler.InstallerReporter):
    """Forwards rattler's install callbacks as coarse events (one per package).

    ``cached`` (rattler validated a package's cache entry) arrives before the
    first ``linked``, so the CLI shows that validation as work, not as "0 linked".
    """

    def __init__(self, emit: Events, on_linked: Callable[[str], None] | None = None) -> None:
        self.emit = emit
        self.names: dict[int, str] = {}
        self.on_linked = on_linked  # vet.Watch: compare that package's tree now

    def on_transaction_start(self, total_operations: int) -> None:
        self.emit("install-start", total=total_operations)

    def on_link_start(self, operation: int, package_name: str) -> int:
        if not self.names:
            self.emit("link-start")
        self.names[operation] = package_name
        return operation

    def on_link_complete(self, index: int) -> None:
        name = self.names.get(index, "")
        if self.on_linked is not None:
            self.on_linked(name)
        self.emit("linked", name=name)

    def on_populate_cache_start(self, operation: int, package_name: str) -> int:
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

    # The callbacks below carry nothing the CLI shows (a fresh prefix unlinks nothing).
    def on_transaction_operation_start(self, operation: int) -> None:
        pass

    def on_transaction_operation_complete(self, operation: int) -> None:
        pass

    def on_validate_start(self, cache_entry: int) -> int:
        return cache_entry

    def on_validate_complete(self, validate_idx: int) -> None:
        pass

    def on_download_progress(self, download_idx: int, progress: int, total: int | None) -> None:
        pass

    def on_post_link_complete(self, index: int, success: bool) -> None:
        pass

    def on_unlink_start(self, operation: int, package_name: str) -> int:
        return operation

    def on_unlink_complete(self, index: int) -> None:
        pass

    def on_pre_unlink_start(self, package_name: str, script_path: str) -> int:
        return 0

    def on_pre_unlink_complete(self, index: int, success: bool) -> None:
        pass

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


async def create(req: dict[str, Any], emit: Events) -> dict[str, Any]:
    cache_action: CacheAction = "force-cache-only" if req.get("offline") else "cache-or-fetch"
    # s3:// gcs:// oci:// channels need the client with those middlewares; others keep
    # rattler's default (no change for https and local channels)
    client = objectstore.client() if objectstore.uses_object_store(req["channels"]) else None
    gateway = rattler.Gateway(cache_dir=req["repodata_cache"], client=client,
                              default_config=rattler.SourceConfig(cache_action=cache_action))
    emit("solve-start", specs=req["specs"])
    try:
        records = await rattler.solve(
            sources=req["channels"], specs=req["specs"], gateway=gateway,
            virtual_packages=rattler.VirtualPackage.detect(), channel_relations="disabled",
        )
    except (GatewayError, FetchRepoDataError) as exc:
        if not req.get("offline"):
            raise
        # the network advice of `classify` would be wrong here: the user said no network
        raise ChannelError(
            "--offline, but a channel's package index is not in the cache; run the same "
            "command once without --offline (a local directory channel needs no cache).",
            details=condense(str(exc))) from None
    emit("solved", count=len(records))
    emit("check-start", total=len(records))
    pending = Pending(whole_before=bool(req.get("allow_link_scripts")))
    _local, clobbers = vet(records, Path(req["pkgs_dir"]), offline=bool(req.get("offline")),
                           limits=_limits(req), progress=emit.relay, pending=pending)
    await _install(records, req, emit, pending)
    return _finish(records, req["channels"], clobbers)


async def from_lock(req: dict[str, Any], emit: Events) -> dict[str, Any]:
    """Install exactly the locked records: no solve, every archive verified first."""
    path = Path(req["lock"])
    pkgs = Path(req["pkgs_dir"])
    source = Path(req["bundle"]) if req.get("bundle") else None
    emit("solve-start", specs=[f"lockfile {path.name}"])
    if explicit.is_explicit(path):
        if req.get("environment"):
            raise UsageError(f"The @EXPLICIT file {path} holds one environment; drop "
                             "--environment.")
        wanted = explicit.read_explicit(path)
        pypi: list[dict[str, Any]] = []  # an @EXPLICIT file holds conda packages only
        if (weak := explicit.md5_only(path, wanted)) is not None:
            emit("warning", message=weak)
        archives = ensure_archives(wanted, pkgs, offline=bool(req.get("offline")),
                                   source_dir=source, need_archive=True, progress=emit.relay)
        records = await lockrecords.records_from_archives(wanted, archives)
        channels = sorted({explicit.channel_of_url(w.url) for w in wanted})
    else:
        records, channels, pypi = lockrecords.read_lock(
            path, warn=lambda message: emit("warning", message=message),
            environment=req.get("environment"))
        archives = ensure_archives(lockrecords.wanted_of(records), pkgs,
                                   offline=bool(req.get("offline")), source_dir=source,
                                   progress=emit.relay)
    emit("solved", count=len(records))
    emit("check-start", total=len(records))
    pending = Pending(whole_before=bool(req.get("allow_link_scripts")))
    _local, clobbers = vet(records, pkgs, known=archives, limits=_limits(req),
                           progress=emit.relay, pending=pending)
    await _install(records, req, emit, pending)
    return {**_finish(records, channels, clobbers), "pypi": pypi}


#: conda-meta of the prefix this worker just linked, being parsed for ``write_lock``.
_READ_AHEAD: dict[str, lockrecords.ReadAhead] = {}


async def _install(records: list[rattler.RepoDataRecord], req: dict[str, Any],
                   emit: Events, pending: Pending) -> None:
    """Link the vetted ``records`` from the trees ``vet`` published in the cache.

    Each tree is compared with what was vetted on a thread as soon as rattler
    reports that package linked (``vet.Watch``): a tree changed since its stamp
    is unpacked afresh and the whole environment linked again into an emptied
    prefix; after that second linking every tree must be the vetted one, else the
    create fails. So what is linked is always a vetted tree, and rattler, given
    the records' own URLs, is proven to have linked from the cache, not from a
    download or an extraction of its own. Then the symlinks the packages ship
    must resolve inside the prefix (``check_linked``).
    """
    prefix = Path(req["prefix"])
    pkgs = Path(req["pkgs_dir"])
    damaged = await _link_watched(records, req, emit, pending)
    if damaged:
        again = [r for r in records if r.name.normalized in damaged]
        emit("warning", message=(
            f"{_plural(len(again), 'cached package')} changed since "
            f"{'it was' if len(again) == 1 else 'they were'} checked "
            f"({', '.join(sorted(damaged))}: a file edited through an environment's hard "
            "link, or something else writing into the package cache); unpacked afresh from "
            "the verified archive, and the environment linked again."))
        _forget(pending, damaged)
        _empty_prefix(prefix)
        emit("check-start", total=len(again))
        redo = Pending(trees=[t for t in pending.trees if t[0] not in damaged],
                       whole_before=pending.whole_before)
        vet(again, pkgs, offline=bool(req.get("offline")), limits=_limits(req),
            progress=emit.relay, pending=redo)
        if still := await _link_watched(records, req, emit, redo):
            raise EngineError(
                "The engine did not link from the checked package cache "
                f"({', '.join(sorted(still))} changed while it linked); the environment was "
                "removed: make sure nothing else writes into the package cache, then run the "
                "same command again.")
    check_linked(prefix, pending.links)
    _READ_AHEAD[req["prefix"]] = lockrecords.ReadAhead(prefix)


async def _link_watched(records: list[rattler.RepoDataRecord], req: dict[str, Any],
                        emit: Events, pending: Pending) -> set[str]:
    """One ``rattler.install`` of ``records``, each vetted tree compared once the engine
    linked it (``vet.Watch``); return the names of those that changed."""
    watch = Watch(pending)
    try:
        await rattler.install(
            records, target_prefix=req["prefix"], cache_dir=req["pkgs_dir"],
            show_progress=False, reporter=Reporter(emit, watch.linked),
            execute_link_scripts=bool(req.get("allow_link_scripts")),
            # py-rattler 0.28 hands the Python wrapper straight to Rust, which wants
            # the inner object; without it install() raises a TypeError.
            requested_specs=[rattler.MatchSpec(s)._match_spec for s in req.get("specs", [])],
        )
    finally:
        changed = watch.finish()
    if watch.metadata_changed:
        names = sorted(watch.metadata_changed)
        _forget(pending, watch.metadata_changed)
        raise UnsafePackageError(
            f"The cached metadata (info/) of {', '.join(names)} changed while the engine "
            "linked: something is writing into the package cache, and the engine may have "
            "placed files where the changed metadata said. The environment was removed and "
            f"{'that package is' if len(names) == 1 else 'those packages are'} unpacked "
            "afresh next time; find what writes into the cache before creating again.")
    return changed


def _forget(pending: Pending, names: set[str]) -> None:
    """Mark the cache trees of ``names`` damaged: unpacked afresh at their next use."""
    for name, folder, _stamp in pending.trees:
        if name in names:
            forget_vetted(folder)


def _empty_prefix(prefix: Path) -> None:
    """Everything the engine linked goes; the session's own folder (its markers) stays."""
    for entry in os.scandir(prefix):
        if entry.name == META_DIR:
            continue
        left: list[Path] = []
        try:
            if entry.is_dir(follow_symlinks=False):
                left = remove_tree(Path(entry.path))
            else:
                os.unlink(entry.path)
        except OSError:
            left = [Path(entry.path)]
        if left:
            raise EngineError(f"Could not empty {prefix} to link it again ({left[0]} is left); "
                              "close programs using it and run the same command again.")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _limits(req: dict[str, Any]) -> Limits:
    given = req.get("limits") or {}
    return Limits(**{k: int(v) for k, v in given.items() if k in Limits.__dataclass_fields__})


def _finish(records: list[rattler.RepoDataRecord], channels: list[str],
            clobbers: list[Clobber]) -> dict[str, Any]:
    """The engine's reply: the records it installed (the session writes the lockfile)."""
    return {"records": [record_summary(r) for r in records], "engine_version": rattler.__version__,
            "channels": channels, "clobbers": [{"path": c.path, "packages": list(c.packages)}
                                               for c in clobbers],
            "links_checked": True}  # by _install, before this reply


async def write_lock(req: dict[str, Any], emit: Events) -> dict[str, Any]:
    """Rewrite the prefix's lockfile from conda-meta; with ``export``, the @EXPLICIT text too.

    conda-meta is what is installed whichever engine (or conda inside) put it
    there, so this one op serves every create and ``mambaboot lock``.
    """
    prefix = Path(req["prefix"])
    ahead = _READ_AHEAD.pop(req["prefix"], None)
    early = ahead.records() if ahead is not None else None
    records = early if early is not None else lockrecords.prefix_records(prefix)
    lock = prefix / ".mambaboot" / "lock.yml"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lockrecords.write_lock(records, req["channels"], lock)
    text = lockrecords.explicit_text(records) if req.get("export") == "explicit" else None
    return {"count": len(records), "text": text}


async def read_lock(req: dict[str, Any], emit: Events) -> dict[str, Any]:
    """The archives (name, file name, URL, sha256) a lockfile asks for on this platform."""
    records, channels, pypi = lockrecords.read_lock(Path(req["lock"]))
    return {"wanted": [dataclasses.asdict(w) for w in lockrecords.wanted_of(records)],
            "channels": channels, "pypi": pypi}


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


async def vet_planned(req: dict[str, Any], emit: Events) -> dict[str, Any]:
    """Vet and unpack another engine's planned packages into the shared cache.

    The micromamba engine then links offline from exactly these checked trees
    (their ``repodata_record.json`` makes them valid cache entries for it).
    """
    records = [PlannedRecord(d) for d in req["records"]]
    emit("solved", count=len(records))
    emit("check-start", total=len(records))  # fetched, unpacked and checked from here on
    pkgs = Path(req["pkgs_dir"])
    _local, clobbers = vet(records, pkgs, offline=bool(req.get("offline")),
                           limits=_limits(req), progress=emit.relay)
    if not req.get("allow_link_scripts"):
        _refuse_link_scripts(records, pkgs)
    return {"records": [], "engine_version": rattler.__version__, "channels": [],
            "clobbers": [{"path": c.path, "packages": list(c.packages)} for c in clobbers]}


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


async def fetch_object(req: dict[str, Any], emit: Events) -> dict[str, Any]:
    """One object-store file for a process that keeps rattler out (``bundle``): one attempt,
    the caller retries and checks the sha256."""
    await objectstore.fetch_async(req["url"], Path(req["dest"]))
    return {}


OPS = {"create": create, "from-lock": from_lock, "write-lock": write_lock, "read-lock": read_lock,
       "vet": vet_planned, "fetch-object": fetch_object}


def classify(exc: Exception) -> MambabootError:
    """rattler's exception as the error the user sees: solve, spec, channel, or the engine."""
    message = str(exc)
    if isinstance(exc, SolverError):
        hint = (" (python comes with pip: add --no-pip if the channels have no pip)"
                if "pip" in message else "")
        return SolveError(
            "The requested packages cannot be installed together; relax the versions "
            f"or add a channel that has them{hint}.", details=condense(message))
    if isinstance(exc, InvalidMatchSpecError):
        return UsageError(f"A package spec is malformed ({condense(message, 1)}); "
                          "write it like 'numpy' or 'numpy>=1.26'.")
    if isinstance(exc, FetchRepoDataError | GatewayError | InvalidChannelError):
        hint = ("; for s3:// set AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
                "AWS_ENDPOINT_URL for an S3-compatible server)" if "S3" in message else "")
        return ChannelError(
            "A channel could not be read; check the -c URL or path and your network "
            f"(or use --offline with a filled cache){hint}.", details=condense(message))
    return EngineError(
        "The engine failed while installing packages; see the reason below and retry.",
        details=condense(message))


if __name__ == "__main__":
    serve(OPS, classify)
