"""Where things live: the one place that decides root, cache and prefix paths.

Every path the tool writes to is derived here from flags and ``MAMBABOOT_*``
variables (never from ``.condarc`` or a home-directory config), so tests and
users can point all of it somewhere else by setting two values.
"""

from __future__ import annotations

import os
import re
from collections import namedtuple
from collections.abc import Mapping
from pathlib import Path

from mambaboot.errors import UsageError

DEFAULT_NAME = "py"
MAX_NAME_LENGTH = 100

_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}
_FORBIDDEN_CHARS = set('<>:"|?*')
_PYVER = re.compile(r"^3(\.\d{1,2}(\.\d{1,3})?)?$")


def validate_name(name: str) -> str:
    """Refuse names that are unsafe as a directory name on any of our platforms.

    Windows rules apply everywhere so that an environment made on Linux can be
    copied to, or rebuilt on, Windows under the same name.
    """
    fix = "use letters, digits, '-', '_' or '.' (for example: mambaboot create my_env 3.12)"
    if not name or not name.strip():
        raise UsageError(f"The environment name is empty; {fix}.")
    if "/" in name or "\\" in name or name in {".", ".."} or ".." in name:
        raise UsageError(f"The environment name {name!r} contains a path separator or '..'; {fix}.")
    if any(c in _FORBIDDEN_CHARS for c in name) or any(ord(c) < 32 for c in name):
        raise UsageError(
            f"The environment name {name!r} contains a character Windows forbids; {fix}.")
    if name.split(".", maxsplit=1)[0].upper().rstrip() in _RESERVED:
        raise UsageError(f"The environment name {name!r} is reserved on Windows; {fix}.")
    if name[-1] in ". ":
        raise UsageError(f"The environment name {name!r} ends in a dot or space; {fix}.")
    if len(name) > MAX_NAME_LENGTH:
        raise UsageError(
            f"The environment name is {len(name)} characters long; "
            f"use at most {MAX_NAME_LENGTH} characters."
        )
    return name


def validate_pyver(pyver: str) -> str:
    """Accept ``3``, ``3.12`` or ``3.12.1``: nothing that could smuggle a spec or a command."""
    if not _PYVER.match(pyver):
        raise UsageError(
            f"The Python version {pyver!r} is not of the form 3, 3.12 or 3.12.1; "
            "give one like that (for example: mambaboot create my_env 3.12)."
        )
    return pyver


def prefix_dirname(name: str, pyver: str | None) -> str:
    """``my_env`` + ``3.12`` -> ``my_env_3_12`` (the seed script's naming)."""
    validate_name(name)
    if pyver is None:
        return name
    validate_pyver(pyver)
    return validate_name(f"{name}_{pyver.replace('.', '_')}")


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def resolve_root(root: str | os.PathLike[str] | None = None,
                 environ: Mapping[str, str] | None = None) -> Path:
    """``--root`` > ``MAMBABOOT_ROOT`` > ``PY_ENVS`` (the seed's variable) > the cwd."""
    env = _env(environ)
    chosen = root or env.get("MAMBABOOT_ROOT") or env.get("PY_ENVS") or Path.cwd()
    return Path(chosen).expanduser().absolute()


class Cache(namedtuple("_Cache", "root pkgs")):
    """The shared cache: ``pkgs`` (conda package cache) and our own data beside it."""

    __slots__ = ()
    root: Path
    pkgs: Path

    @property
    def repodata(self) -> Path:
        return self.root / "repodata"

    @property
    def micromamba(self) -> Path:
        return self.root / "micromamba"


def resolve_cache(cache: str | os.PathLike[str] | None, root: Path,
                  environ: Mapping[str, str] | None = None) -> Cache:
    """``--cache`` > ``MAMBABOOT_CACHE`` > first ``CONDA_PKGS_DIRS`` entry > ``ROOT/.cache``.

    ``CONDA_PKGS_DIRS`` names a package directory only, so in that case our
    other cached data (repodata, the micromamba binary) stays in ``ROOT/.cache``.
    """
    env = _env(environ)
    chosen = cache or env.get("MAMBABOOT_CACHE")
    if chosen:
        base = Path(chosen).expanduser().absolute()
        return Cache(root=base, pkgs=base / "pkgs")
    pkgs_dirs = [p for p in env.get("CONDA_PKGS_DIRS", "").split(",") if p.strip()]
    default = root / ".cache"
    if pkgs_dirs:
        return Cache(root=default, pkgs=Path(pkgs_dirs[0].strip()).expanduser().absolute())
    return Cache(root=default, pkgs=default / "pkgs")


def looks_like_path(env: str) -> bool:
    """An ENV argument is a path when it has a separator or starts with ``.``/``~``."""
    return (
        "/" in env or "\\" in env or env.startswith(("~", "."))
        or Path(env).is_absolute() or (len(env) > 1 and env[1] == ":")
    )


def resolve_env(env: str, root: Path) -> Path:
    """``ENV`` is a directory name under the root (``my_env_3_12``) or a path."""
    if not env:
        raise UsageError("The environment argument is empty; give a name under the root or a path.")
    if looks_like_path(env):
        return Path(env).expanduser().absolute()
    return root / validate_name(env)
