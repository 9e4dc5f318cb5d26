"""Prefix: one environment on disk, and the ONLY place that decides "is this ours".

A prefix is a mambaboot environment when ``.mambaboot/env.json`` exists and
``.mambaboot/creating`` does not. Everything destructive asks this module first,
so the rule cannot drift between commands.
"""

from __future__ import annotations

import json
import os
import sys
from collections import namedtuple
from enum import Enum
from pathlib import Path

from mambaboot.errors import NotAnEnvironmentError

META_DIR = ".mambaboot"
MANIFEST = "env.json"
CREATING = "creating"
LOCKFILE = "lock.yml"
ACTIVATION = "activation.json"

IS_WINDOWS = sys.platform == "win32"


class Status(str, Enum):
    OK = "ok"
    INCOMPLETE = "incomplete"  # a create that did not finish: never usable
    FOREIGN = "foreign"        # exists, but not made by us: never touched


class Prefix(namedtuple("_Prefix", "path")):
    """One environment directory (a namedtuple: cheap to import on the ``run`` path)."""

    __slots__ = ()
    path: Path

    # --- layout -----------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def meta(self) -> Path:
        return self.path / META_DIR

    @property
    def manifest(self) -> Path:
        return self.meta / MANIFEST

    @property
    def creating_marker(self) -> Path:
        return self.meta / CREATING

    @property
    def lockfile(self) -> Path:
        return self.meta / LOCKFILE

    @property
    def activation_file(self) -> Path:
        return self.meta / ACTIVATION

    @property
    def parked_meta(self) -> Path:
        """Where the micromamba engine parks ``.mambaboot`` while micromamba runs
        (it refuses a non-empty folder that is not yet a conda prefix)."""
        return self.path.parent / f".{self.path.name}.mambaboot-parked"

    @property
    def conda_meta(self) -> Path:
        return self.path / "conda-meta"

    @property
    def pkgs_link(self) -> Path:
        return self.path / "pkgs"

    def python(self, windows: bool = IS_WINDOWS) -> Path:
        return self.path / "python.exe" if windows else self.path / "bin" / "python"

    def executable(self, name: str, windows: bool = IS_WINDOWS) -> Path | None:
        """Find a program the way the env's PATH would (for verification)."""
        for rel in bin_dirs(windows):
            folder = self.path / rel if rel else self.path
            for suffix in ((".exe", ".bat", ".cmd", "") if windows else ("",)):
                candidate = folder / f"{name}{suffix}"
                if candidate.is_file() and (windows or os.access(candidate, os.X_OK)):
                    return candidate
        return None

    # --- ownership --------------------------------------------------------
    @property
    def status(self) -> Status | None:
        """None when nothing is there; FOREIGN for any directory we did not make."""
        if not self.path.exists() and not self.path.is_symlink():
            return None
        if self.path.is_symlink() or not self.path.is_dir():
            return Status.FOREIGN
        if self.creating_marker.exists() or (self.parked_meta / CREATING).exists():
            return Status.INCOMPLETE
        if self.manifest.is_file():
            return Status.OK
        return Status.FOREIGN

    def read_manifest(self) -> dict[str, object]:
        try:
            return json.loads(self.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def write_manifest(self, data: dict[str, object]) -> None:
        write_json_atomic(self.manifest, data)


def bin_dirs(windows: bool = IS_WINDOWS) -> tuple[str, ...]:
    """PATH entries relative to the prefix, in conda's order."""
    if windows:
        return ("", "Library/mingw-w64/bin", "Library/usr/bin", "Library/bin", "Scripts", "bin",
                "condabin")
    return ("bin", "condabin")


def require_env(path: Path, *, allow_incomplete: bool = False) -> Prefix:
    """Return the Prefix if ``path`` is a usable mambaboot environment, else say why not."""
    prefix = Prefix(path)
    status = prefix.status
    if status is Status.OK:
        return prefix
    if status is Status.INCOMPLETE:
        if allow_incomplete:
            return prefix
        raise NotAnEnvironmentError(
            f"{path} is a failed or unfinished create; run 'mambaboot create' again to replace it "
            f"or 'mambaboot remove {path}' to delete it."
        )
    if status is None:
        raise NotAnEnvironmentError(
            f"There is no environment at {path}; "
            "check the name with 'mambaboot list' or pass --root.")
    raise NotAnEnvironmentError(
        f"{path} is not a mambaboot environment (it has no {META_DIR}/{MANIFEST}); "
        "mambaboot only touches environments it created."
    )


def write_json_atomic(path: Path, data: object) -> None:
    """Write JSON via a temp file + rename so a crash never leaves half a manifest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
