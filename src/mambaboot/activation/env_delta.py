"""The activation model: which variables an environment needs, shell-independent.

It is stored in ``.mambaboot/activation.json`` with every occurrence of the
prefix replaced by a token, so the stored file stays true after the folder
moves. ``mambaboot run`` reads it without importing the engine (or anything
heavy: this module uses the standard library only).

Two layers are kept apart because they come from different places:
``variables``/``path`` are what mambaboot itself sets, computed from the
prefix alone (``create`` writes them; no package code runs for them), while
``scripted``/``unset``/``extra_path`` are the measured effects of the packages'
``etc/conda/activate.d`` scripts. Those scripts are package code, so they are
only run when the user enters the environment, as conda runs them: the
``activate.*`` scripts source them, and ``run`` measures them (``measured``)
the first time and again after ``conda-meta`` changed (``fresh.py``, ``activate_d.py``).
"""

from __future__ import annotations

import json
import os
from collections import namedtuple

from mambaboot.platforms import IS_WINDOWS
from mambaboot.prefix import ACTIVATION, META_DIR, bin_dirs

TYPE_CHECKING = False  # typing (~3 ms) and pathlib (~4 ms) would slow `run` down
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

    #: ``run`` passes the prefix as a string; everything else passes a Path.
    StrPath = str | os.PathLike[str]

PREFIX_TOKEN = "@MAMBABOOT_PREFIX@"
FORMAT_VERSION = 3
#: Older formats still read: version 2 was always measured (at create, by older mambaboot).
READABLE_VERSIONS = (2, FORMAT_VERSION)


_Fields = namedtuple("_Fields", "name path variables stamp scripted unset extra_path measured",
                     defaults=(None, 0.0, None, (), (), False))


class Activation(_Fields):
    """PATH entries (relative to the prefix) and variables (with the prefix token).

    Fields: ``name``; ``path`` (PATH entries relative to the prefix); ``variables``
    (what mambaboot sets); ``stamp`` (conda-meta mtime when computed);
    ``scripted``/``unset``/``extra_path`` (the measured effects of activate.d
    scripts); ``measured`` (whether those were measured at all: ``create`` never
    measures, so a fresh environment with activate.d scripts starts unmeasured).
    A namedtuple rather than a dataclass: ``run`` imports this module and
    ``dataclasses`` alone costs it ~10 ms of start-up.
    """

    __slots__ = ()

    def __new__(cls, name: str, path: tuple[str, ...], *,
                variables: dict[str, str] | None = None, stamp: float = 0.0,
                scripted: dict[str, str] | None = None,
                unset: tuple[str, ...] = (), extra_path: tuple[str, ...] = (),
                measured: bool = False) -> Activation:
        return super().__new__(cls, name, tuple(path), dict(variables or {}), stamp,
                               dict(scripted or {}), tuple(unset), tuple(extra_path),
                               bool(measured))

    def to_json(self) -> dict[str, object]:
        """The stored form; ``activate_d`` is null until the scripts were measured."""
        scripts = ({"set": self.scripted, "unset": list(self.unset),
                    "path": list(self.extra_path)} if self.measured else None)
        return {"version": FORMAT_VERSION, "name": self.name, "path": list(self.path),
                "variables": self.variables, "conda_meta_mtime": self.stamp,
                "activate_d": scripts}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Activation:  # parsed JSON
        raw = data.get("activate_d")
        scripts: dict = dict(raw or {})
        return cls(name=str(data["name"]), path=tuple(data["path"]),
                   variables=dict(data["variables"]),
                   stamp=float(data.get("conda_meta_mtime", 0.0)),
                   scripted=dict(scripts.get("set", {})), unset=tuple(scripts.get("unset", ())),
                   extra_path=tuple(scripts.get("path", ())), measured=raw is not None)

    def resolve(self, prefix: StrPath) -> tuple[list[str], dict[str, str]]:
        """Absolute PATH entries and variable values for a prefix at its current place."""
        root = os.fspath(prefix)
        paths = [p.replace(PREFIX_TOKEN, root) for p in self.extra_path]
        paths += [os.path.join(root, *rel.split("/")) if rel else root for rel in self.path]
        merged = {**self.variables, **self.scripted}
        values = {k: v.replace(PREFIX_TOKEN, root) for k, v in merged.items()}
        return paths, values


def conda_meta_mtime(prefix: StrPath) -> float:
    try:
        return os.stat(os.path.join(prefix, "conda-meta")).st_mtime
    except OSError:
        return 0.0


def base(prefix: StrPath, name: str | None = None, windows: bool = IS_WINDOWS) -> Activation:
    """What conda itself sets for this prefix, before any package's activate.d script."""
    env_name = name or os.path.basename(os.fspath(prefix))
    variables = {
        "CONDA_PREFIX": PREFIX_TOKEN,
        "CONDA_DEFAULT_ENV": env_name,
        "CONDA_SHLVL": "1",
        "CONDA_PROMPT_MODIFIER": f"({env_name}) ",
        "MAMBABOOT_ENV": PREFIX_TOKEN,
    }
    return Activation(env_name, bin_dirs(windows), variables=variables,
                      stamp=conda_meta_mtime(prefix))


def store(prefix: StrPath, activation: Activation) -> Path:
    from pathlib import Path  # only when recomputed: not on run's usual path

    from mambaboot.fsutil import write_json

    path = Path(prefix) / META_DIR / ACTIVATION
    write_json(path, activation.to_json())
    return path


def load(prefix: StrPath) -> Activation | None:
    try:
        with open(os.path.join(prefix, META_DIR, ACTIVATION), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    if data.get("version") not in READABLE_VERSIONS:
        return None
    return Activation.from_json(data)


def apply(activation: Activation, prefix: StrPath,
          environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A full child environment: the parent's, plus the activation, PATH prepended."""
    env = dict(os.environ if environ is None else environ)
    paths, values = activation.resolve(prefix)
    for name in activation.unset:
        env.pop(name, None)
    env.update(values)
    path_key = next((k for k in env if k.upper() == "PATH"), "PATH") if IS_WINDOWS else "PATH"
    env[path_key] = os.pathsep.join([*paths, env.get(path_key, "")]).rstrip(os.pathsep)
    return env
