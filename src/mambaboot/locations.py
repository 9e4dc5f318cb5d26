"""Where things live: the one place that decides root, cache and prefix paths.

Every path the tool writes to is derived here from flags and ``MAMBABOOT_*``
variables (never from ``.condarc`` or a home-directory config), so tests and
users can point all of it somewhere else by setting two values.
"""

from __future__ import annotations

import errno
import os
import re
from collections import namedtuple

from mambaboot.platforms import IS_WINDOWS

TYPE_CHECKING = False  # `run` imports this module: typing, pathlib, errors only when needed
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import TypeVar

    from mambaboot.errors import MambabootError, UsageError

    _P = TypeVar("_P", str, Path)


def _usage(message: str) -> UsageError:
    from mambaboot.errors import UsageError  # the error path only: `run` stays light

    return UsageError(message)


def _failure(message: str) -> MambabootError:
    from mambaboot.errors import MambabootError

    return MambabootError(message)


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
        raise _usage(f"The environment name is empty; {fix}.")
    if "/" in name or "\\" in name or name in {".", ".."} or ".." in name:
        raise _usage(f"The environment name {name!r} contains a path separator or '..'; {fix}.")
    if any(c in _FORBIDDEN_CHARS for c in name) or any(ord(c) < 32 for c in name):
        raise _usage(
            f"The environment name {name!r} contains a character Windows forbids; {fix}.")
    if name.split(".", maxsplit=1)[0].upper().rstrip() in _RESERVED:
        raise _usage(f"The environment name {name!r} is reserved on Windows; {fix}.")
    if name[-1] in ". ":
        raise _usage(f"The environment name {name!r} ends in a dot or space; {fix}.")
    odd = next((c for c in name if not (c.isalnum() or c in "-_.")), None)
    if odd is not None:
        # the seed's NAME_3_12 alphabet: a name is printed into commands users paste,
        # so no character of it may mean anything to a shell (; $() ` space & ! ...)
        raise _usage(f"The environment name {name!r} contains {odd!r}; {fix}.")
    if not (name[0].isalnum() or name[0] == "_"):
        raise _usage(f"The environment name {name!r} starts with {name[0]!r} (hidden or "
                         f"read as an option); {fix}.")
    if len(name) > MAX_NAME_LENGTH:
        raise _usage(
            f"The environment name is {len(name)} characters long; "
            f"use at most {MAX_NAME_LENGTH} characters."
        )
    return name


_VERSION_LIKE = re.compile(r"^\d+(\.\d+)*$")


def validate_pyver(pyver: str) -> str:
    """Accept ``3``, ``3.12`` or ``3.12.1``: nothing that could smuggle a spec or a command."""
    if _VERSION_LIKE.match(pyver) and not pyver.startswith("3"):
        raise _usage(
            f"Python {pyver} is not available: mambaboot makes Python 3 environments; give a "
            "version such as 3.12 (for example: mambaboot create my_env 3.12).")
    if not _PYVER.match(pyver):
        raise _usage(
            f"The Python version {pyver!r} is not of the form 3, 3.12 or 3.12.1; "
            "give one like that (for example: mambaboot create my_env 3.12)."
        )
    return pyver


def prefix_dirname(name: str, pyver: str | None) -> str:
    """``my_env`` + ``3.12`` -> ``my_env_3_12`` (the seed script's naming)."""
    if _VERSION_LIKE.match(name):
        # 'create 3.11' would otherwise make an env *named* 3.11 with any Python
        raise _usage(f"{name!r} looks like a Python version, not a name; give the name "
                         f"first: mambaboot create {DEFAULT_NAME} {name}.")
    validate_name(name)
    if pyver is None:
        return name
    validate_pyver(pyver)
    return validate_name(f"{name}_{pyver.replace('.', '_')}")


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _given(value: str | os.PathLike[str] | None, option: str) -> str | None:
    """An option's value, or None when it was not given.

    An empty ``--root ''`` is a mistake (an unset shell variable, usually), not a
    request for the default: silently using the cwd or ignoring it would write
    somewhere the user did not choose. Empty *variables* count as unset, as in
    most tools (``MAMBABOOT_ROOT= mambaboot list``).
    """
    if value is None:
        return None
    text = os.fspath(value)
    if not text.strip():
        example = {"--root": "~/envs", "--cache": "~/envs/.cache"}.get(option, "DIR")
        raise _usage(f"{option} is empty; give a folder (for example {option} {example}) "
                         "or leave the option out to use the default.")
    return text


def refuse_empty_options(root: str | None, cache: str | None) -> None:
    """``--root ''`` / ``--cache ''`` are bad input for every command, even one not using them."""
    _given(root, "--root")
    _given(cache, "--cache")


def resolve_root(root: str | os.PathLike[str] | None = None,
                 environ: Mapping[str, str] | None = None) -> Path:
    """``--root`` > ``MAMBABOOT_ROOT`` > ``PY_ENVS`` (the seed's variable) > the cwd."""
    from pathlib import Path

    return Path(root_dir(root, environ))


def root_dir(root: str | os.PathLike[str] | None = None,
             environ: Mapping[str, str] | None = None) -> str:
    """``resolve_root`` as a string, without importing ``pathlib`` when it need not."""
    env = _env(environ)
    chosen = (_given(root, "--root") or env.get("MAMBABOOT_ROOT") or env.get("PY_ENVS")
              or os.getcwd())
    return _absolute(chosen)


def _absolute(path: str) -> str:
    """``str(Path(path).expanduser().absolute())``: pathlib (~4 ms for ``run``) only for the
    paths whose string form it would change (``~``, ``.``, ``..``, doubled or trailing
    separators, relative or drive-relative paths)."""
    if (os.path.isabs(path) and path == os.path.normpath(path) and not path.startswith("//")
            and (not IS_WINDOWS or path[1:3] == ":\\")):
        return path
    from pathlib import Path

    return str(Path(path).expanduser().absolute())


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


def first_pkgs_dir(value: str) -> str | None:
    """The first entry of ``CONDA_PKGS_DIRS``: conda splits it on os.pathsep and on commas."""
    for part in re.split(f"[,{re.escape(os.pathsep)}]", value):
        if part.strip():
            return part.strip()
    return None


def resolve_cache(cache: str | os.PathLike[str] | None, root: Path,
                  environ: Mapping[str, str] | None = None) -> Cache:
    """``--cache`` > ``MAMBABOOT_CACHE`` > first ``CONDA_PKGS_DIRS`` entry > ``ROOT/.cache``.

    ``CONDA_PKGS_DIRS`` names a package directory only, so in that case our
    other cached data (repodata, the micromamba binary) stays in ``ROOT/.cache``.
    """
    from pathlib import Path

    env = _env(environ)
    chosen = _given(cache, "--cache") or env.get("MAMBABOOT_CACHE")
    if chosen:
        base = Path(chosen).expanduser().absolute()
        return Cache(root=base, pkgs=base / "pkgs")
    pkgs_dir = first_pkgs_dir(env.get("CONDA_PKGS_DIRS", ""))
    default = root / ".cache"
    if pkgs_dir:
        return Cache(root=default, pkgs=Path(pkgs_dir).expanduser().absolute())
    return Cache(root=default, pkgs=default / "pkgs")


_FIX = {"environments root": "choose another folder with --root",
        "cache": "choose another folder with --cache",
        "package cache": "choose another folder with --cache"}


def require_root_dir(root: _P, *, must_exist: bool) -> _P:
    """Refuse a root that is a file, and (for commands that only read) one that is missing.

    A missing root is bad input (exit 2), as ``ls /nonexistent`` is: saying
    "no environments" would hide a mistyped ``--root``. ``create`` makes the
    root, so it passes ``must_exist=False``.
    """
    if os.path.exists(root) and not os.path.isdir(root):
        raise _usage(f"The environments root {root} is a file, not a folder; "
                         "move it away or choose another folder with --root.")
    if must_exist and not os.path.isdir(root):
        raise _usage(f"The environments root {root} does not exist; check --root or "
                         "MAMBABOOT_ROOT ('mambaboot create' makes the root).")
    return root


def require_cache_dirs(cache: Cache) -> Cache:
    """Refuse a cache (or its ``pkgs``) that exists but is not a folder (exit 2)."""
    for what, path in (("cache", cache.root), ("package cache", cache.pkgs)):
        if path.exists() and not path.is_dir():
            raise _usage(f"The {what} {path} is a file, not a folder; "
                             f"move it away or {_FIX[what]}.")
    return cache


def _inside(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_layout(root: Path, cache: Cache, prefix: Path | None = None) -> None:
    """Refuse a root and a cache that overlap, and a prefix that overlaps the cache.

    With the root inside the cache (or equal to it), ``create repodata`` or
    ``create pkgs`` would build an environment over the cache's own folders,
    and ``remove`` would delete them. A cache inside the root is allowed only
    under a hidden folder (the default ``ROOT/.cache``): ``list`` skips those,
    so no environment is ever confused with the cache.
    """
    from pathlib import Path

    real_root = Path(os.path.realpath(root))
    for what, path in (("cache", cache.root), ("package cache", cache.pkgs)):
        real = Path(os.path.realpath(path))
        if _inside(real_root, real):
            raise _usage(
                f"The environments root {root} is the {what} {path} or inside it; "
                "keep them apart: choose another folder with --cache or with --root.")
        if real_root in real.parents and not real.relative_to(real_root).parts[0].startswith("."):
            raise _usage(
                f"The {what} {path} is inside the environments root {root}, where an "
                f"environment could be made over it; use a hidden folder such as "
                f"{root / '.cache'} (the default) or a folder outside the root.")
        if prefix is not None:
            real_prefix = Path(os.path.realpath(prefix))
            if _inside(real_prefix, real) or _inside(real, real_prefix):
                raise _usage(
                    f"The environment {prefix} would overlap the {what} {path}; "
                    "choose another name.")


def fs_error(exc: OSError, what: str, path: Path) -> MambabootError:
    """One sentence, with the fix, for an OSError met while preparing one of our folders.

    ``what`` is "environments root", "cache" or "package cache". A file in the
    way is bad input (exit 2); a read-only or full disk is a failed operation (1).
    """
    fix = _FIX.get(what, "choose another folder")
    code = exc.errno
    if code in (errno.EEXIST, errno.ENOTDIR):
        blocker = _file_in_the_way(path)
        return _usage(f"{blocker} is a file where the {what} {path} needs a folder; "
                          f"move it away or {fix}.")
    if code == errno.EROFS:
        return _failure(f"The {what} {path} is on a read-only file system; "
                              f"mount it read-write or {fix}.")
    if code in (errno.EACCES, errno.EPERM):
        return _failure(f"The {what} {path} is not writable ({exc.strerror}); "
                              f"give yourself write access to it or {fix}.")
    if code == errno.ENOSPC:
        return _failure(f"The disk holding the {what} {path} is full; "
                              f"free some space or {fix}.")
    return _failure(f"Cannot write to the {what} {path} ({exc.strerror}); "
                          f"check the folder or {fix}.")


def _file_in_the_way(path: Path) -> Path:
    """The first of ``path`` and its parents that exists and is not a folder."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate if not candidate.is_dir() else path
    return path


def looks_like_path(env: str) -> bool:
    """An ENV argument is a path when it has a separator or starts with ``.``/``~``."""
    return (
        "/" in env or "\\" in env or env.startswith(("~", "."))
        or os.path.isabs(env) or (len(env) > 1 and env[1] == ":")
    )


def resolve_env(env: str, root: Path) -> Path:
    """``ENV`` is a directory name under the root (``my_env_3_12``) or a path.

    A name needs an existing root: a missing or file root is named as such
    (exit 2) rather than reported as "no environment called NAME".
    """
    from pathlib import Path

    return Path(env_dir(env, str(root)))


def env_dir(env: str, root: str) -> str:
    """``resolve_env`` as a string (``run``'s path: no ``pathlib``)."""
    if not env:
        raise _usage("The environment argument is empty; give a name under the root or a path.")
    if looks_like_path(env):
        return _absolute(env)
    validate_name(env)
    return os.path.join(require_root_dir(root, must_exist=True), env)
