"""The public Python API: what the ``mambaboot`` commands do, as functions.

Every function takes keyword arguments only, returns a frozen result from
``mambaboot.results`` (``run_plan`` returns ``mambaboot.activation.run.Plan``,
also frozen) and raises a ``mambaboot.errors.MambabootError`` subclass whose
message names the problem and the fix. Nothing is printed and nothing exits:
progress, if you want it, arrives through the ``progress`` callback as
``(event, data)`` (the events are listed in ``mambaboot.cli.progress``;
``"warning"`` {message} is sent for a plain-http channel and the like, and the
same texts are in ``CreateResult.warnings``). The CLI calls these same
functions, so the two cannot drift.

Import cost: this module imports only the standard library, ``errors`` and
``results``; each function loads what it needs when called. So
``import mambaboot.api`` does not load rattler, rich, httpx or yaml, and
``mambaboot run`` never imports this module at all. No function loads
rattler into the calling process: the engine, and the lockfile reading and
writing of ``lock`` and ``bundle``, run in the rattler worker.

Decision: ``mambaboot/__init__.py`` does not re-export these names. Use
``from mambaboot import api`` (or ``import mambaboot.api``); ``mambaboot``
itself stays a one-line import for the CLI's hot path.

Environments are named as on the command line: ``env`` is a folder name under
the root (``"my_env_3_12"``) or a path (a ``pathlib.Path`` is always a path).
``root`` and ``cache`` default as for the CLI (``MAMBABOOT_ROOT``, ``PY_ENVS``,
the current directory; ``MAMBABOOT_CACHE``, ``CONDA_PKGS_DIRS``, ``ROOT/.cache``).
Like the CLI, ``create`` refuses to run while an environment (conda, a venv
other than mambaboot's own) is active in ``os.environ``; ``check_shell=False``
skips that check.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mambaboot.errors import MambabootError, UsageError
from mambaboot.results import (
    BundleResult,
    CreateResult,
    DoctorReport,
    ExportResult,
    ListResult,
    LockResult,
    ProgressCallback,
    RemoveResult,
    VerifyReport,
    no_progress,
)

if TYPE_CHECKING:
    from mambaboot.activation.run import Plan
    from mambaboot.locations import Cache

PathLike = str | os.PathLike[str]

__all__ = ["MambabootError", "bundle", "create", "doctor", "list_envs", "lock", "remove",
           "run_plan", "verify"]


def _root(root: PathLike | None) -> Path:
    from mambaboot.locations import resolve_root

    return resolve_root(root)


def _cache(cache: PathLike | None, root: Path) -> Cache:
    from mambaboot.locations import resolve_cache

    return resolve_cache(cache, root)


def env_path(env: PathLike, root: PathLike | None = None) -> Path:
    """Where ``env`` is: a name under the root, or a path (``Path`` objects always are)."""
    from mambaboot.locations import resolve_env

    if isinstance(env, os.PathLike):
        return Path(env).expanduser().absolute()
    return resolve_env(env, _root(root))


def create(*, name: str | None = None, python: str | None = None,
           path: PathLike | None = None, root: PathLike | None = None,
           cache: PathLike | None = None, specs: Sequence[str] = (),
           channels: Sequence[str] = (), file: PathLike | None = None,
           from_lock: PathLike | None = None, from_bundle: PathLike | None = None,
           managers: bool = True, pip: bool = True, offline: bool = False,
           engine: str = "rattler", allow_link_scripts: bool = False,
           templates: Sequence[PathLike] = (), max_unpacked: str | None = None,
           max_members: int | str | None = None, engine_options: Mapping[str, str] | None = None,
           environment: str | None = None, progress: ProgressCallback | None = None,
           check_shell: bool = True) -> CreateResult:
    """Create an environment with python (``python``, e.g. ``"3.12"``; default the
    latest), pip, conda and mamba (``managers=False`` leaves conda and mamba out,
    ``pip=False`` pip) plus ``specs``.

    The prefix is ``ROOT/NAME_PYVER`` (``name`` defaults to the file's name, then
    ``py``), or exactly ``path`` (whose folder name must be a valid name; the
    root is then its parent, and ``root`` only places the default cache).
    ``channels`` are names, URLs or local folders (default conda-forge).
    ``file`` is an environment.yml; ``from_lock`` a lock.yml, pixi.lock or
    @EXPLICIT file and ``from_bundle`` a bundle, both installed exactly,
    without solving; ``environment`` picks one environment of a lock that has
    several (default: ``default``, with a warning naming the others).
    ``engine_options`` go to the engine
    (for micromamba: ``version``, ``sha256``, ``source``).
    """
    import contextlib
    import dataclasses

    from mambaboot import session
    from mambaboot.locations import validate_name
    from mambaboot.spec import create_request, unpack_limits

    if name is not None and path is not None:
        raise UsageError("Give the environment's name or its path, not both.")
    request, warnings = create_request(
        name=name, python=python, specs=specs, channels=channels,
        file=Path(file) if file is not None else None,
        from_lock=Path(from_lock) if from_lock is not None else None,
        from_bundle=from_bundle is not None, managers=managers, pip=pip, offline=offline,
        allow_link_scripts=allow_link_scripts, limits=unpack_limits(max_unpacked, max_members),
        environment=environment)
    report, heard = _hearing(progress)
    for warning in warnings:
        report("warning", {"message": warning})
    folders = tuple(Path(t).expanduser().absolute() for t in templates)
    for folder in folders:
        if not folder.is_dir():
            raise UsageError(f"The template {folder} is not a directory; pass an existing folder.")
    if path is not None:
        prefix = Path(path).expanduser().absolute()
        request = dataclasses.replace(request, name=validate_name(prefix.name))
        base = _root(root) if root is not None else prefix.parent
    else:
        base = _root(root)
        prefix = base / request.name
    where = _cache(cache, base)
    with contextlib.ExitStack() as stack:
        if from_bundle is not None:
            from mambaboot.bundle import opened_bundle

            lock, pkgs = stack.enter_context(
                opened_bundle(Path(from_bundle).expanduser().absolute(), where.root))
            request = dataclasses.replace(request, lock=str(lock), bundle=str(pkgs),
                                          specs_override=())
        result = session.create(request, prefix, where, engine=engine, progress=report,
                                check_shell=check_shell, templates=folders,
                                engine_options=engine_options)
    return dataclasses.replace(result, warnings=tuple(heard)) if heard else result


def _hearing(progress: ProgressCallback | None) -> tuple[ProgressCallback, list[str]]:
    """``progress``, and the list of every warning it hears, for the result's ``warnings``:
    a library caller that passes no callback still gets them."""
    heard: list[str] = []

    def report(event: str, data: dict[str, Any]) -> None:
        if event == "warning":
            heard.append(str(data["message"]))
        (progress or no_progress)(event, data)

    return report, heard


def remove(*, env: PathLike, root: PathLike | None = None, dry_run: bool = False,
           progress: ProgressCallback | None = None) -> RemoveResult:
    """Delete the environment (no question asked); ``dry_run`` only lists what would go.

    Only environments mambaboot made (or failed creates) are removed; the
    shared package cache never is.
    """
    from mambaboot.remove import remove_env

    return remove_env(env_path(env, root), dry_run=dry_run, progress=progress)


def verify(*, env: PathLike, root: PathLike | None = None) -> VerifyReport:
    """Check the environment (python, conda, mamba, every file's sha256, the lockfile).

    Drift is not an exception: the report's ``ok`` is False and its failed
    ``checks`` say what differs.
    """
    from mambaboot.verify.checks import verify_env

    return verify_env(env_path(env, root))


def lock(*, env: PathLike, root: PathLike | None = None, format: str = "rattler",
         output: PathLike | None = None) -> LockResult:
    """Rewrite ``.mambaboot/lock.yml`` from what is installed and export it.

    ``format`` is ``rattler`` (lock.yml), ``explicit`` (@EXPLICIT with sha256)
    or ``environment-yml``. With ``output`` the export is written there;
    otherwise its text is ``LockResult.content``.
    """
    from mambaboot.lockfile import lock_env

    return lock_env(env_path(env, root), format, Path(output) if output is not None else None)


def bundle(*, env: PathLike, out: PathLike, root: PathLike | None = None,
           cache: PathLike | None = None, progress: ProgressCallback = no_progress) -> BundleResult:
    """Write the lockfile and every package archive into ``out`` (a new folder or a .tar).

    Archives come from the cache the environment was made with, or ``cache``.
    """
    import dataclasses

    from mambaboot.bundle import bundle_env

    base = _root(root)
    report, heard = _hearing(progress)
    result = bundle_env(env_path(env, base), Path(out), _cache(cache, base),
                        own_cache=cache is None, progress=report)
    return dataclasses.replace(result, warnings=tuple(heard)) if heard else result


def export(*, env: PathLike, out: PathLike, root: PathLike | None = None,
           cache: PathLike | None = None, offline: bool = False,
           micromamba: PathLike | None = None, platform: str | None = None,
           micromamba_version: str | None = None,
           micromamba_sha256: str | None = None,
           progress: ProgressCallback = no_progress) -> ExportResult:
    """Write an installer folder (install.sh/.bat/.ps1, env.txt, lock.yml) into ``out``.

    It rebuilds the environment with micromamba on a machine with nothing
    installed; ``offline`` puts every archive and the micromamba binary in it.
    """
    import dataclasses

    from mambaboot.installer import export_env

    base = _root(root)
    report, heard = _hearing(progress)
    result = export_env(env_path(env, base), Path(out), _cache(cache, base), offline=offline,
                        micromamba=Path(micromamba) if micromamba is not None else None,
                        platform=platform, micromamba_version=micromamba_version,
                        micromamba_sha256=micromamba_sha256, progress=report)
    return dataclasses.replace(result, warnings=tuple(heard)) if heard else result


def list_envs(*, root: PathLike | None = None) -> ListResult:
    """Every environment (and failed create) under the root, with status and size."""
    from mambaboot.locations import require_root_dir
    from mambaboot.prefix import list_envs as listing

    return listing(require_root_dir(_root(root), must_exist=True))


def doctor(*, root: PathLike | None = None, cache: PathLike | None = None,
           environ: Mapping[str, str] | None = None) -> DoctorReport:
    """Read-only: what would break one-environment-per-shell or the clean setup."""
    from mambaboot.doctor import diagnose

    base = _root(root)
    return diagnose(base, _cache(cache, base).pkgs, environ)


def run_plan(*, env: PathLike, argv: Sequence[str], root: PathLike | None = None,
             environ: Mapping[str, str] | None = None) -> Plan:
    """What ``mambaboot run ENV -- ARGV`` would execute, without executing it.

    The plan's ``executable`` is the resolved program, ``argv`` the arguments
    (``argv[0]`` as given) and ``env`` the complete environment with the
    activation applied; run it with ``subprocess.run([plan.executable,
    *plan.argv[1:]], env=plan.env)``. ``environ`` defaults to ``os.environ``.
    """
    from mambaboot.activation.run import plan

    return plan(env_path(env, root), list(argv), environ)
