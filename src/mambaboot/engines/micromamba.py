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
The records and ``lock.yml`` are then read from ``conda-meta`` by the same
worker operation ``mambaboot lock`` uses; everything after that is the shared
code in ``mambaboot.session``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from mambaboot.cleanenv import scrubbed_environ
from mambaboot.engines.base import Engine, InstallOutcome, ProgressCallback, no_progress
from mambaboot.errors import EngineError, UsageError
from mambaboot.locations import Cache
from mambaboot.micromamba_binary import MICROMAMBA_VERSION, BinaryInfo, ensure
from mambaboot.prefix import META_DIR, Prefix
from mambaboot.spec import CreateRequest

TAIL_LINES = 15
#: User-level directories pointed into the cache for the child (see module docstring).
HOME_VARS = ("HOME", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "XDG_CONFIG_HOME",
             "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")


def create_argv(exe: Path, prefix: Path, channels: tuple[str, ...] | list[str],
                specs: list[str], root_prefix: Path, *, offline: bool = False) -> list[str]:
    """The one command line; specs last, and none may look like an option."""
    for spec in specs:
        if spec.startswith("-"):
            raise UsageError(f"The package spec {spec!r} starts with '-'; write it like 'numpy'.")
    argv = [str(exe), "create", "--yes", "--prefix", str(prefix), "--override-channels"]
    for channel in channels:
        argv += ["-c", channel]
    argv += ["--no-rc", "--root-prefix", str(root_prefix)]
    if offline:
        argv.append("--offline")
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

    def version(self) -> str:
        return self.requested_version

    def binary(self, request: CreateRequest, cache: Cache,
               progress: ProgressCallback = no_progress) -> BinaryInfo:
        return ensure(cache, version=self.requested_version, pin=self.sha256, source=self.source,
                      channels=request.channels, offline=request.offline, progress=progress)

    def install(self, request: CreateRequest, prefix: Path, cache: Cache,
                progress: ProgressCallback = no_progress) -> InstallOutcome:
        info = self.binary(request, cache, progress)
        root_prefix = cache.micromamba / "root"
        argv = create_argv(info.path, prefix, request.channels, request.specs, root_prefix,
                           offline=request.offline)
        env = child_environ(cache)
        Path(env["HOME"]).mkdir(parents=True, exist_ok=True)
        log = cache.micromamba / "logs" / f"create-{prefix.name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with _vacated(prefix):
            code, tail = _run_logged(argv, env, log, progress)
        if code != 0:
            raise EngineError(
                f"micromamba create failed (exit code {code}); the end of its log is below, "
                f"the whole log is {log}.", details="\n".join(tail) or "(no output)")
        if not any((prefix / "conda-meta").glob("*.json")):
            raise EngineError(f"micromamba create reported success but installed nothing into "
                              f"{prefix}; see {log}.", details="\n".join(tail))
        # micromamba leaves #! lines with spaces (or too long) as they are: the
        # kernel cannot run them. Rewrite them as the embedded engine writes them.
        from mambaboot.shebangs import fix_prefix

        fix_prefix(prefix)
        # The lockfile and the records come from conda-meta through the same worker
        # operation that 'mambaboot lock' uses, so both engines write identical locks.
        from mambaboot.engines.rattler import run_worker

        locked = run_worker({"op": "refresh-lock", "prefix": str(prefix),
                             "channels": list(request.channels)}, progress)
        return InstallOutcome(self.name, info.version, locked.records,
                              channels=tuple(request.channels))


def _run_logged(argv: list[str], env: dict[str, str], log: Path,
                progress: ProgressCallback) -> tuple[int, list[str]]:
    """Run, copying output to the log; relay it as progress; return exit code and last lines."""
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    progress("solve-start", {"engine": "micromamba"})
    try:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                                errors="replace")
    except OSError as exc:
        raise EngineError(f"Could not start micromamba at {argv[0]} ({exc}); check it with "
                          "'mambaboot micromamba verify'.") from exc
    assert proc.stdout is not None
    linking = False
    try:
        with log.open("w", encoding="utf-8") as out:
            out.write(" ".join(argv) + "\n")
            for raw in proc.stdout:
                line = raw.rstrip()
                out.write(line + "\n")
                if not line.strip():
                    continue
                tail.append(line)
                progress("engine-output", {"line": line})
                if line.lstrip().startswith("Linking "):
                    if not linking:
                        linking = True
                        progress("install-start", {"total": None})
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
