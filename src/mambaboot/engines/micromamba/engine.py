"""The micromamba engine: the seed script's path (fetch once, call ``create`` once), made safe.

Exactly one call::

    micromamba create --yes --prefix P --override-channels -c C... --no-rc
                      --root-prefix CACHE/micromamba/root [--offline] SPECS...

and never ``shell init``, ``shell hook`` or ``activate``. The child gets a
scrubbed environment (no ``CONDA*``/``MAMBA*``/``PYTHON*`` of the user's),
``CONDA_PKGS_DIRS=CACHE/pkgs`` so both engines share one package cache, and a
HOME (plus XDG/APPDATA dirs) inside the cache: conda-family tools register
every environment in ``~/.conda/environments.txt`` and keep state under
``~/.mamba``, which would be a write outside root and cache.

micromamba refuses a non-empty target that is not a conda prefix (and, with
``--yes``, deletes one that is), so while it runs our ``.mambaboot`` folder
(with the ``creating`` marker) waits beside the prefix and is put back after.
The records are then read from ``conda-meta``; everything after that (the
lockfile included) is the shared code in ``mambaboot.session``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mambaboot.activation.cleanenv import scrubbed_environ
from mambaboot.child import Worker
from mambaboot.engines.base import Engine, InstallOutcome
from mambaboot.engines.micromamba.binary import MICROMAMBA_VERSION, BinaryInfo
from mambaboot.engines.micromamba.obtain import ensure
from mambaboot.errors import EngineError, UsageError
from mambaboot.events import ProgressCallback, no_progress
from mambaboot.locations import Cache
from mambaboot.prefix import META_DIR, Prefix
from mambaboot.spec import CreateRequest

TAIL_LINES = 15
#: User-level directories pointed into the cache for the child (see module docstring).
HOME_VARS = ("HOME", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "XDG_CONFIG_HOME",
             "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")


def create_argv(exe: Path, prefix: Path, channels: tuple[str, ...] | list[str],
                specs: list[str], root_prefix: Path, *, offline: bool = False,
                plan: bool = False) -> list[str]:
    """The create command line; specs last, and none may look like an option.

    ``plan=True`` is the same command with ``--dry-run --json``: micromamba
    solves and prints the packages it would link, which are vetted before the
    real create links them (offline, from the vetted cache).
    """
    for spec in specs:
        if spec.startswith("-"):
            raise UsageError(f"The package spec {spec!r} starts with '-'; write it like 'numpy'.")
    argv = [str(exe), "create", "--yes", "--prefix", str(prefix), "--override-channels"]
    for channel in channels:
        argv += ["-c", channel]
    argv += ["--no-rc", "--root-prefix", str(root_prefix)]
    if offline:
        argv.append("--offline")
    if plan:
        argv += ["--dry-run", "--json"]
    return argv + list(specs)


def child_environ(cache: Cache) -> dict[str, str]:
    """Scrubbed environment plus our package cache, root prefix and a sandboxed home.

    ``CONDARC``/``MAMBARC`` have no underscore, so they are dropped here as well.
    """
    env = {k: v for k, v in scrubbed_environ().items()
           if not k.upper().startswith(("CONDA", "MAMBA"))}
    home = cache.micromamba / "home"
    env.update({var: str(home) for var in HOME_VARS})
    env["CONDA_PKGS_DIRS"] = str(cache.pkgs)
    env["MAMBA_ROOT_PREFIX"] = str(cache.micromamba / "root")
    # pip is in the specs already unless --no-pip: micromamba must not add it on its own
    env["MAMBA_ADD_PIP_AS_PYTHON_DEPENDENCY"] = "false"
    return env


class MicromambaEngine(Engine):
    """``--engine micromamba``; options come from ``--micromamba-version/-sha256/-source``."""

    name = "micromamba"

    def __init__(self, version: str | None = None, sha256: str | None = None,
                 source: str | None = None) -> None:
        self.requested_version = version or MICROMAMBA_VERSION
        self.sha256 = sha256
        self.source = source or "release"

    def binary(self, request: CreateRequest, cache: Cache,
               progress: ProgressCallback = no_progress) -> BinaryInfo:
        return ensure(cache, version=self.requested_version, pin=self.sha256, source=self.source,
                      channels=request.channels, offline=request.offline, progress=progress)

    def install(self, request: CreateRequest, prefix: Path, cache: Cache,
                progress: ProgressCallback = no_progress,
                worker: Worker | None = None) -> InstallOutcome:
        from mambaboot.objectstore import uses_object_store

        if uses_object_store(list(request.channels)):
            raise UsageError("s3://, gcs:// and oci:// channels are read by the embedded "
                             "engine; drop --engine micromamba.")
        info = self.binary(request, cache, progress)
        root_prefix = cache.micromamba / "root"
        env = child_environ(cache)
        Path(env["HOME"]).mkdir(parents=True, exist_ok=True)
        log = cache.micromamba / "logs" / f"create-{prefix.name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        # 1. solve only; 2. vet every planned package into the shared cache (the same
        #    checks as the embedded engine: micromamba links what we unpacked and
        #    checked, never an archive read by a second reader); 3. link offline.
        progress("solve-start", {"engine": "micromamba"})
        planned = _plan(create_argv(info.path, prefix, request.channels, request.specs,
                                    root_prefix, offline=request.offline, plan=True), env, log)
        from mambaboot.engines.rattler.engine import run_worker

        vetted = run_worker({"op": "vet", "records": planned, "pkgs_dir": str(cache.pkgs),
                             "offline": request.offline, "limits": dict(request.limits),
                             "allow_link_scripts": request.allow_link_scripts}, progress,
                            worker)
        argv = create_argv(info.path, prefix, request.channels, request.specs, root_prefix,
                           offline=True)
        progress("install-start", {"total": len(planned)})
        progress("link-start", {})
        with _vacated(prefix):
            code, tail = _run_logged(argv, env, log, progress, append=True)
        if code != 0:
            raise EngineError(
                f"micromamba create failed (exit code {code}); the end of its log is below, "
                f"the whole log is {log}.", details="\n".join(tail) or "(no output)")
        if not any((prefix / "conda-meta").glob("*.json")):
            raise EngineError(f"micromamba create reported success but installed nothing into "
                              f"{prefix}; see {log}.", details="\n".join(tail))
        # micromamba leaves #! lines with spaces (or too long) as they are: the
        # kernel cannot run them. Rewrite them as the embedded engine writes them.
        from mambaboot.engines.micromamba.shebangs import fix_prefix

        fix_prefix(prefix)
        _require_planned(prefix, planned, log)
        # The records are micromamba's own conda-meta; the session writes the lockfile
        # from conda-meta for every engine, so both engines write identical locks.
        return InstallOutcome(info.version, installed_records(prefix),
                              channels=tuple(request.channels),
                              clobbers=vetted.clobbers)


def _plan(argv: list[str], env: dict[str, str], log: Path) -> list[dict[str, Any]]:
    """micromamba's own solution (``--dry-run --json``): the LINK records."""
    try:
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, encoding="utf-8", errors="replace", check=False)
    except OSError as exc:
        raise EngineError(f"Could not start micromamba at {argv[0]} ({exc}); check it with "
                          "'mambaboot micromamba verify'.") from exc
    log.write_text(" ".join(argv) + "\n" + proc.stderr + proc.stdout, encoding="utf-8")
    try:
        report = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except ValueError:
        report = {}
    links = (report.get("actions") or {}).get("LINK") if isinstance(report, dict) else None
    if proc.returncode != 0 or not report.get("success", proc.returncode == 0) or not links:
        # micromamba's own JSON problem report (solver problems) is the detail
        tail = "\n".join([line for line in proc.stderr.splitlines() if line.strip()][
            -TAIL_LINES:])
        details = json.dumps(report, indent=2) if report else (tail or "(no output)")
        raise EngineError(
            f"micromamba could not solve the request (exit code {proc.returncode}); its report "
            f"is below, the whole log is {log}.", details=details)
    return [link for link in links if isinstance(link, dict)]


def _require_planned(prefix: Path, planned: list[dict[str, Any]], log: Path) -> None:
    """What micromamba linked must be exactly what was planned and vetted."""
    want = {(str(p.get("name")), str(p.get("version")),
             str(p.get("build") or p.get("build_string"))) for p in planned}
    got = set()
    for record in (prefix / "conda-meta").glob("*.json"):
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(record.read_text(encoding="utf-8"))
            got.add((str(data.get("name")), str(data.get("version")), str(data.get("build"))))
    extra = sorted(got - want)
    if extra:
        raise EngineError(
            f"micromamba linked {'-'.join(extra[0])}, which was not in its plan and so was "
            f"never checked; nothing is kept, see {log} and retry.")


def _run_logged(argv: list[str], env: dict[str, str], log: Path,
                progress: ProgressCallback, *, append: bool = False) -> tuple[int, list[str]]:
    """Run, copying output to the log; relay it as progress; return exit code and last lines."""
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    if not append:
        progress("solve-start", {"engine": "micromamba"})
    try:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                                errors="replace")
    except OSError as exc:
        raise EngineError(f"Could not start micromamba at {argv[0]} ({exc}); check it with "
                          "'mambaboot micromamba verify'.") from exc
    assert proc.stdout is not None
    try:
        with log.open("a" if append else "w", encoding="utf-8") as out:
            out.write(" ".join(argv) + "\n")
            for raw in proc.stdout:
                line = raw.rstrip()
                out.write(line + "\n")
                if not line.strip():
                    continue
                tail.append(line)
                progress("engine-output", {"line": line})
                if line.lstrip().startswith("Linking "):
                    progress("linked", {"name": line.split()[1] if len(line.split()) > 1 else ""})
        code = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return code, list(tail)


@contextlib.contextmanager
def _vacated(prefix: Path) -> Iterator[None]:
    """Let micromamba create ``prefix`` itself; keep our ``.mambaboot`` beside it meanwhile."""
    parked = Prefix(prefix).parked_meta
    meta = prefix / META_DIR
    if prefix.is_dir():
        others = [p.name for p in prefix.iterdir() if p.name != META_DIR]
        if others:
            raise EngineError(f"{prefix} is not empty ({others[0]}); micromamba needs a new "
                              "folder, remove it or choose another name.")
        if meta.is_dir():
            if parked.exists():
                from mambaboot.fsutil import remove_tree

                remove_tree(parked)
            os.replace(meta, parked)
        os.rmdir(prefix)
    try:
        yield
    finally:
        prefix.mkdir(parents=True, exist_ok=True)
        if parked.is_dir() and not meta.exists():
            os.replace(parked, meta)


#: The fields of a conda-meta record an engine reports (what the rattler worker sends).
RECORD_FIELDS = ("name", "version", "build", "subdir", "channel", "url", "sha256", "md5", "size")


def installed_records(prefix: Path) -> list[dict[str, Any]]:
    """What micromamba installed, from its conda-meta records (plain JSON, no rattler)."""
    records = []
    for meta in sorted((prefix / "conda-meta").glob("*.json")):
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EngineError(f"micromamba wrote an unreadable record {meta} ({exc}); "
                              "run the same command again.") from None
        if isinstance(data, dict):
            records.append({k: data.get(k) for k in RECORD_FIELDS})
    return records
