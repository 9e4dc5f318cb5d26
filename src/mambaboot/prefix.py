"""Prefix: one environment on disk, and the ONLY place that decides "is this ours".

A prefix is a mambaboot environment when ``.mambaboot/env.json`` exists and
``.mambaboot/creating`` does not. Everything destructive asks this module first,
so the rule cannot drift between commands.
"""

from __future__ import annotations

import os
import stat
from collections import namedtuple

from mambaboot.platforms import IS_WINDOWS, is_link

TYPE_CHECKING = False  # importing typing would slow `run` down
if TYPE_CHECKING:
    from pathlib import Path

    from mambaboot.results import ListResult

META_DIR = ".mambaboot"
MANIFEST = "env.json"
CREATING = "creating"
LOCKFILE = "lock.yml"
ACTIVATION = "activation.json"
#: ``.NAME.mambaboot-parked`` beside the prefix: where the micromamba engine parks ``.mambaboot``.
PARKED = ".{}.mambaboot-parked"



class Status:
    """What is at a prefix path (plain strings: ``enum`` would cost ``run`` its import)."""

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
    def parked_meta(self) -> Path:
        """Where the micromamba engine parks ``.mambaboot`` while micromamba runs
        (it refuses a non-empty folder that is not yet a conda prefix)."""
        return self.path.parent / PARKED.format(self.path.name)

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
    def status(self) -> str | None:
        """None when nothing is there, else a ``Status`` (see ``env_status``)."""
        return env_status(self.path)

    def destroy(self, trash: Path | None = None) -> list[Path]:
        """Delete an environment we made, proof of ownership last; return what could not go.

        Call only after ``status`` said OK or INCOMPLETE. The ``creating``
        marker is written first (an environment being removed is no longer
        usable) and deleted last, so a second Ctrl-C or a SIGKILL at any point
        leaves a tree that ``list`` shows as incomplete and the next create or
        ``remove`` finishes. The parked folder goes after the prefix.
        """
        from mambaboot.fsutil import remove_tree

        leftovers: list[Path] = []
        if self.path.is_dir() and not is_link(self.path):
            self.meta.mkdir(exist_ok=True)
            if not _is_plain_file(self.creating_marker):
                self.creating_marker.write_text(f"removing pid {os.getpid()}\n",
                                                encoding="utf-8")
            leftovers += remove_tree(self.path, trash=trash, last=(self.creating_marker,))
        if os.path.lexists(self.parked_meta):
            leftovers += remove_tree(self.parked_meta, last=(self.parked_meta / CREATING,))
        return leftovers

    def read_manifest(self) -> dict[str, object]:
        import json

        try:
            return json.loads(self.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def write_manifest(self, data: dict[str, object]) -> None:
        from mambaboot.fsutil import write_json  # not on run's import path

        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        write_json(self.manifest, data, sort_keys=True)


def bin_dirs(windows: bool = IS_WINDOWS) -> tuple[str, ...]:
    """PATH entries relative to the prefix, in conda's order."""
    if windows:
        return ("", "Library/mingw-w64/bin", "Library/usr/bin", "Library/bin", "Scripts", "bin",
                "condabin")
    return ("bin", "condabin")


def env_status(path: str | os.PathLike[str]) -> str | None:
    """None when nothing is there; FOREIGN for anything we cannot prove we made.

    A link (even a dangling one) is never "nothing there": it is FOREIGN,
    so nothing is created over it and it is never removed. Proof of
    ownership is our own ``.mambaboot`` folder inside (a real folder, not
    a link), or, for a create interrupted while the micromamba engine had
    parked that folder beside the prefix, the parked ``creating`` marker
    plus micromamba's own history naming this prefix with our flags
    (``_made_by_parked_create``). A parked marker alone never is. Plain
    ``os.path`` on a string: ``run`` asks this on every call.
    """
    root = os.fspath(path)
    if not os.path.lexists(root):
        return None
    if is_link(root):
        return Status.FOREIGN  # a file falls through: it has no .mambaboot folder
    meta = os.path.join(root, META_DIR)
    meta_is_ours = os.path.isdir(meta) and not is_link(meta)
    if meta_is_ours and _is_plain_file(os.path.join(meta, CREATING)):
        return Status.INCOMPLETE
    if _made_by_parked_create(root):
        return Status.INCOMPLETE
    if meta_is_ours and _is_plain_file(os.path.join(meta, MANIFEST)):
        return Status.OK
    return Status.FOREIGN


def _made_by_parked_create(root: str) -> bool:
    """Whether this folder is what micromamba made for our create before it was killed.

    While micromamba runs, our ``.mambaboot`` waits in ``parked_meta`` and
    the prefix holds only micromamba's work. Three things must hold: the
    parked marker exists, the prefix has no ``.mambaboot`` of its own, and
    ``conda-meta/history`` (written by micromamba) records the command line
    only our micromamba engine uses for this very path
    (``--prefix PATH ... --no-rc --root-prefix``). A foreign folder next to
    a stray parked marker fails the last test and is never deleted.
    """
    parent, name = os.path.split(root)
    parked = os.path.join(parent, PARKED.format(name))
    if is_link(parked) or not _is_plain_file(os.path.join(parked, CREATING)):
        return False
    if os.path.lexists(os.path.join(root, META_DIR)):
        return False
    conda_meta = os.path.join(root, "conda-meta")
    history = os.path.join(conda_meta, "history")
    if is_link(conda_meta) or not _is_plain_file(history):
        return False
    try:
        with open(history, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return False
    wanted = f"--prefix {root} "
    return any(line.startswith("# cmd:") and wanted in line
               and "--no-rc --root-prefix " in line for line in text.splitlines())


def check_env(path: str | os.PathLike[str], *, allow_incomplete: bool = False) -> None:
    """Nothing, if ``path`` is a usable mambaboot environment; else say why not."""
    status = env_status(path)
    if status is Status.OK or (status is Status.INCOMPLETE and allow_incomplete):
        return
    from mambaboot.errors import NotAnEnvironmentError  # the error path: `run` stays light

    if status is Status.INCOMPLETE:
        from mambaboot.platforms import for_shell

        raise NotAnEnvironmentError(
            f"{os.fspath(path)} is a failed or unfinished create; run 'mambaboot create' again "
            f"to replace it or 'mambaboot remove {for_shell(path)}' to delete it."
        )
    if status is None:
        raise NotAnEnvironmentError(
            f"There is no environment at {os.fspath(path)}; "
            "check the name with 'mambaboot list' or pass --root.")
    from pathlib import Path

    raise NotAnEnvironmentError(foreign_reason(Prefix(Path(path))))


def require_env(path: Path, *, allow_incomplete: bool = False) -> Prefix:
    """Return the Prefix if ``path`` is a usable mambaboot environment, else say why not."""
    check_env(path, allow_incomplete=allow_incomplete)
    return Prefix(path)


def foreign_reason(prefix: Prefix) -> str:
    """One sentence saying why a FOREIGN path is not ours, and what the user can do."""
    path = prefix.path
    if is_link(path):
        return (f"{path} is a link, not a mambaboot environment; mambaboot never writes "
                "through or removes a link, use the environment's real path or another name.")
    if os.path.lexists(prefix.parked_meta):
        return (f"{path} is not provably a mambaboot environment (only a stray "
                f"{prefix.parked_meta.name} marker lies beside it); mambaboot leaves it alone, "
                "delete it yourself if it is a leftover of an interrupted create.")
    return (f"{path} is not a mambaboot environment (it has no {META_DIR}/{MANIFEST}); "
            "mambaboot only touches environments it created.")


def _is_plain_file(path: str | os.PathLike[str]) -> bool:
    """A regular file, not a link to one: links are never proof of ownership."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


# ``list``: every environment under the root, with its status and size.

#: Made by mambaboot and finished, but its python is gone (removed with conda inside).
BROKEN = "broken"


def _has_python(prefix: Path) -> bool:
    return any((prefix / rel).exists() for rel in ("bin/python", "python.exe",
                                                    "bin/python3"))


def list_envs(root: Path) -> ListResult:
    """Environments and failed creates under ``root``; foreign directories are ignored."""
    from mambaboot.fsutil import tree_size  # not needed by `run`, which imports this module
    from mambaboot.results import EnvEntry, ListResult

    entries = []
    if root.is_dir():
        for child in sorted(root.iterdir(), key=lambda p: p.name.lower()):
            if child.name.startswith(".") or child.is_symlink() or not child.is_dir():
                continue
            prefix = Prefix(child)
            status = prefix.status
            if status not in (Status.OK, Status.INCOMPLETE):
                continue
            manifest = prefix.read_manifest() if status is Status.OK else {}
            count = len(list(prefix.conda_meta.glob("*.json"))) if prefix.conda_meta.is_dir() else 0
            size = tree_size(child)[0]
            shown = status
            if status is Status.OK and not _has_python(child):
                shown = BROKEN  # e.g. 'conda remove python' inside: not usable as it is
            version = manifest.get("python_version")
            entries.append(EnvEntry(
                name=child.name, path=child, status=shown,
                python_version=version if isinstance(version, str) else None, package_count=count,
                size_bytes=size))
    return ListResult(root, tuple(entries))
