"""The packages together, and the prefix after linking: what no single package shows.

``rules`` checks each package on its own; here the whole transaction is
checked before anything is linked (noarch files placed where the engine will
put them, symlinks across packages, mambaboot's own paths, clobbers), and the
linked prefix once more afterwards (``scan_prefix``: the backstop for every
engine; ``check_linked``: the same for the symlinks the rattler engine linked).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mambaboot.errors import UnsafePackageError
from mambaboot.packages.rules import (
    RESERVED_TOP,
    Clobber,
    Contents,
    check_below,
    check_targets,
    refuse,
)
from mambaboot.platforms import (  # there lib/Dir and lib/dir/x are one folder
    CASE_INSENSITIVE,
    IS_WINDOWS,
)


@dataclass(frozen=True)
class Layout:
    """Where the engine puts noarch: python files for the python of this transaction."""

    site_packages: str = "lib/python3/site-packages"
    bindir: str = "bin"
    windows: bool = False

    @classmethod
    def for_python(cls, version: str | None, site_packages_path: str | None = None,
                   windows: bool = IS_WINDOWS) -> Layout:
        if windows:
            return cls(site_packages_path or "Lib/site-packages", "Scripts", True)
        return cls(site_packages_path or f"lib/python{major_minor(version)}/site-packages", "bin")

    def place(self, path: str) -> str:
        if path.startswith("site-packages/"):
            return f"{self.site_packages}/{path.removeprefix('site-packages/')}"
        if path.startswith("python-scripts/"):
            return f"{self.bindir}/{path.removeprefix('python-scripts/')}"
        return path

    def installed(self, pkg: Contents) -> tuple[list[str], dict[str, str]]:
        """``pkg``'s entries and symlinks at the paths they take in the prefix."""
        if not pkg.noarch_python:
            return pkg.entries, pkg.links
        entries = [self.place(p) for p in pkg.entries]
        for point in pkg.entry_points:
            if self.windows:
                entries += [f"{self.bindir}/{point}-script.py", f"{self.bindir}/{point}.exe"]
            else:
                entries.append(f"{self.bindir}/{point}")
        return entries, {self.place(p): t for p, t in pkg.links.items()}


def major_minor(version: str | None) -> str:
    """``X.Y`` of a python version as the engine reads it: an epoch (``0!3.11.7``), a
    local part (``3.11.7+x``) or a pre-release tag (``3.13a1``) is not part of it, and
    ``_`` and ``-`` separate its parts as ``.`` does (``3_11_7`` is 3.11).

    Where this differs from the engine, noarch files would be checked at paths the
    engine does not use (an attack session placed an escaping symlink that way with
    the version ``0!3.11.7``), so ``check_linked`` also walks the whole prefix when a
    declared path is missing."""
    text = (version or "3").split("!", 1)[-1].split("+", 1)[0]
    found = re.match(r"(\d+)(?:[._-](\d+))?", text)  # the engine splits on . _ - alike
    if found is None:
        return "3"
    return f"{found[1]}.{found[2]}" if found[2] is not None else found[1]


def _as_on_disk(path: str) -> str:
    """The name the file system will actually use, on a case-insensitive one."""
    if not CASE_INSENSITIVE:
        return path
    import unicodedata

    return unicodedata.normalize("NFC", path).casefold()


def check_transaction(packages: list[Contents], layout: Layout | None = None) -> list[Clobber]:
    """The packages together: no escaping or written-through symlink across packages,
    nothing at mambaboot's own paths; return every path more than one package ships.

    Paths are compared as the file system will see them: on a case-insensitive
    one, ``lib/Dir`` (a symlink) and ``lib/dir/x`` are the same folder, and
    ``bin/Tool`` and ``bin/tool`` are one file shipped twice.
    """
    layout = layout or Layout()
    links: dict[str, str] = {}
    owners: dict[str, str] = {}
    placed: list[tuple[Contents, list[str]]] = []
    first: dict[str, str] = {}  # path -> the first package shipping it
    shippers: dict[str, list[str]] = {}  # only paths shipped more than once
    rivals: list[tuple[str, str, str]] = []  # (path, target, owner) a later package replaced
    for pkg in packages:
        entries, pkg_links = layout.installed(pkg)
        if CASE_INSENSITIVE:
            entries = [_as_on_disk(e) for e in entries]
            pkg_links = {_as_on_disk(k): _as_on_disk(t) for k, t in pkg_links.items()}
        bad = next((p for p in entries if p.split("/", 1)[0] in RESERVED_TOP), None)
        if bad is not None:
            raise refuse(pkg.label, f"it ships {bad}, a path mambaboot keeps for itself in "
                                    "every environment")
        label = pkg.label
        for path in entries:
            if path in first:
                shippers.setdefault(path, [first[path]]).append(label)
            else:
                first[path] = label
        for path, target in pkg_links.items():
            if path in links and links[path] != target:
                # a clobbered symlink: the engine keeps one of them, not necessarily the
                # one checked below, so every other target is checked in its place too
                rivals.append((path, links[path], owners[path]))
            links[path], owners[path] = target, label
        placed.append((pkg, entries))
    if links:
        check_targets(links, owners)
        for path, target, owner in rivals:
            check_targets({**links, path: target}, {**owners, path: owner})
        for pkg, entries in placed:
            check_below(pkg.label, links, entries, owners)
    return [Clobber(path, tuple(labels)) for path, labels in sorted(shippers.items())]


def scan_prefix(prefix: Path) -> None:
    """After linking: every symlink in the prefix must resolve inside it."""
    root = Path(os.path.realpath(prefix))
    stack = [str(prefix)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.is_symlink():
                    if not Path(os.path.realpath(entry.path)).is_relative_to(root):
                        rel = os.path.relpath(entry.path, prefix).replace(os.sep, "/")
                        _escaped(prefix, rel, entry.path)
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)


def check_linked(prefix: Path, links: dict[str, str]) -> None:
    """After the rattler engine linked vetted packages: every symlink in a folder where
    they ship one must resolve inside the prefix.

    The same promise as ``scan_prefix`` in O(folders with symlinks) instead of a
    walk of the whole prefix: a package's tree holds exactly what its paths.json
    lists (``check_listed``), its fingerprint was compared before and after
    linking, and the engine makes no symlink of its own, so symlinks exist only
    where a package ships one; the folder is read whole, so one the engine renamed
    there (a clobbered path) is seen too. If any declared symlink is not at its
    placed path, the whole prefix is walked instead. Other engines, and PyPI
    installs on top, always get the full walk.
    """
    if any(not os.path.lexists(prefix / rel) for rel in links):
        # a declared symlink is not where the transaction check placed it: the engine
        # laid the packages out differently from what was checked, so trust nothing
        scan_prefix(prefix)
        return
    root = Path(os.path.realpath(prefix))
    for folder in sorted({os.path.dirname(rel) for rel in links}):
        try:
            entries = list(os.scandir(prefix / folder))
        except (FileNotFoundError, NotADirectoryError):
            continue  # nothing was linked there
        for entry in entries:
            if entry.is_symlink() and not Path(os.path.realpath(entry.path)).is_relative_to(root):
                _escaped(prefix, f"{folder}/{entry.name}" if folder else entry.name, entry.path)


def _escaped(prefix: Path, rel: str, path: Path | str) -> None:
    raise UnsafePackageError(
        f"The package {_owner(prefix, rel)} installed the symlink {rel} -> "
        f"{os.readlink(path)}, which points outside the prefix; the "
        "environment was removed, remove the package from the channel or "
        "pin another build.")


def _owner(prefix: Path, rel: str) -> str:
    """Which installed package owns ``rel`` (only looked up when something is wrong)."""
    for meta in (prefix / "conda-meta").glob("*.json"):
        try:
            if rel in json.loads(meta.read_text(encoding="utf-8")).get("files", []):
                return meta.stem
        except (OSError, ValueError):
            continue
    return f"owning {rel}"
