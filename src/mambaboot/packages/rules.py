"""Refuse hostile or broken packages before anything is linked, and scan the prefix after.

py-rattler 0.28 does not protect the prefix: ``install()`` creates a package's
symlink ``lib/escape -> ../../../../tmp`` as given, and follows ``..`` in
``info/paths.json``. So every package is checked here, in our code, before the
engine sees it, and the installed prefix is scanned once more afterwards.

The rules (see docs/security.md): every path is relative, NUL- and
backslash-free and has no ``..``; a symlink's target, resolved component by
component through every other symlink of the transaction, stays inside the
package/prefix (components are compared, never string prefixes, so
``/x/env-evil`` is not inside ``/x/env``); nothing is written through a
symlink; no device files; no control characters in names; no setuid, setgid,
sticky or world-writable modes; nothing at the paths mambaboot itself owns in a
prefix; name, version and build are plain single names. noarch: python paths
are checked where the engine puts them (``site-packages/`` ->
``lib/pythonX.Y/site-packages/``, ``python-scripts/`` -> ``bin/``), and two
packages shipping one path (a clobber) are reported, never silent.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mambaboot.errors import UnsafePackageError
from mambaboot.packages.limits import size_text
from mambaboot.platforms import CASE_INSENSITIVE

#: Symlink chains longer than this are refused (the kernel's limit is 40 too).
MAX_HOPS = 40
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Top-level names a prefix reserves for mambaboot and the engine: a package
#: shipping them would overwrite the manifest, the lock, the activation
#: scripts, the cache link or the engine's own records.
RESERVED_TOP = frozenset({".mambaboot", "pkgs", "conda-meta", "__clobbers__", "activate.sh",
                          "activate.bat", "activate.ps1", "activate.fish", "deactivate.bat",
                          ".condarc"})
#: Mode bits no package file may carry: setuid/setgid/sticky, and writable by anyone.
BAD_MODE = stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX
_ENTRY_POINT = re.compile(r"^\s*([^=\s]+)\s*=")


def refuse(label: str, problem: str) -> UnsafePackageError:
    return UnsafePackageError(
        f"Refused the package {label}: {problem}; nothing was installed from it, remove it "
        "from the channel or pin another build.")


@dataclass
class Contents:
    """What one validated package will put into the prefix."""

    label: str
    entries: list[str] = field(default_factory=list)       # paths.json paths, normalised
    links: dict[str, str] = field(default_factory=dict)    # payload symlink path -> target
    noarch_python: bool = False                            # paths are remapped at link time
    entry_points: list[str] = field(default_factory=list)  # noarch: python bin/ scripts
    fingerprint: str = ""                                  # INFO:FILES, see fingerprint()

    def to_json(self) -> dict[str, Any]:
        """Plain data, for the unpacker's reply (``packages.unpack``) and the vet stamp."""
        return {"label": self.label, "entries": self.entries, "links": self.links,
                "noarch_python": self.noarch_python, "entry_points": self.entry_points,
                "fingerprint": self.fingerprint}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Contents:
        return cls(str(data["label"]), list(data["entries"]), dict(data["links"]),
                   bool(data["noarch_python"]), list(data["entry_points"]),
                   str(data["fingerprint"]))


@dataclass(frozen=True)
class Clobber:
    """One path shipped by more than one package of a transaction."""

    path: str
    packages: tuple[str, ...]


def check_path(label: str, path: object, what: str = "path") -> str:
    """A package-relative path without tricks, normalised to ``a/b/c``."""
    if not isinstance(path, str) or not path.strip():
        raise refuse(label, f"a {what} is empty or not a string")
    if _CONTROL.search(path) or "\\" in path:
        raise refuse(label, f"the {what} {path!r} contains a control character or a backslash")
    if path.startswith("/") or _DRIVE.match(path):
        raise refuse(label, f"the {what} {path!r} is absolute")
    parts = path.split("/")
    if ".." in parts:
        raise refuse(label, f"the {what} {path!r} contains '..' and could escape the prefix")
    if any(p in ("", ".") for p in parts):
        # ``lib//d/x`` or ``lib/./d``: readers normalise these differently, so none is accepted
        raise refuse(label, f"the {what} {path!r} has an empty or '.' component")
    return path


def check_identity(label: str, **fields: object) -> None:
    """name/version/build become directory and file names: one plain component each."""
    for key, value in fields.items():
        text = str(value) if value is not None else ""
        if not text or _CONTROL.search(text) or any(bad in text for bad in ("/", "\\", "..")):
            raise refuse(label, f"its {key} {text!r} contains '/', '\\', '..' or a control "
                                "character (or is empty)")


def check_file_name(file_name: str) -> str:
    """An archive's file name, which becomes a path in the cache and in a bundle: one plain
    component (no ``..``, separator or drive, ``C:x.conda`` is relative to a drive on
    Windows) ending in .conda or .tar.bz2. Returns the label to name it by."""
    label = repr(file_name) if not file_name.isprintable() else file_name
    check_identity(label, **{"file name": file_name})
    if ":" in file_name:
        raise refuse(label, "its file name contains ':'")
    if not file_name.endswith((".conda", ".tar.bz2")):
        raise refuse(label, "its file name does not end in .conda or .tar.bz2")
    return label


def _components(target: str) -> list[str] | None:
    """A symlink target as components in reverse (a work stack); None if absolute."""
    if _CONTROL.search(target) or target.startswith(("/", "\\")) or _DRIVE.match(target):
        return None
    return [p for p in target.replace("\\", "/").split("/") if p not in ("", ".")][::-1]


def resolve(path: str, links: Mapping[str, str]) -> list[str] | None:
    """Resolve symlink ``path``'s target through ``links``; None if it leaves the root.

    ``links`` maps root-relative symlink paths to their raw targets; everything
    else is taken as a plain directory. Resolving component by component (not
    ``normpath``) matters: ``a/..`` is not ``.`` when ``a`` is itself a symlink.
    """
    stack = path.split("/")[:-1]
    work = _components(links[path])
    if work is None:
        return None
    hops = 0
    while work:
        part = work.pop()
        if part == "..":
            if not stack:
                return None
            stack.pop()
            continue
        stack.append(part)
        target = links.get("/".join(stack))
        if target is not None:
            hops += 1
            more = _components(target)
            if more is None or hops > MAX_HOPS:
                return None
            stack.pop()
            work.extend(more)
    return stack


def check_targets(links: Mapping[str, str], owners: Mapping[str, str]) -> None:
    """Every symlink resolves inside the root (``owners`` names who ships which link)."""
    for path, target in links.items():
        if resolve(path, links) is None:
            raise refuse(owners[path], f"its symlink {path} -> {target} points outside the "
                                       "prefix")


def check_below(label: str, links: Mapping[str, str], entries: Iterable[str],
                owners: Mapping[str, str] | None = None) -> None:
    """Nothing in ``entries`` may be written through (below) a symlink."""
    if not links:
        return
    ordered = sorted(entries)
    for link in links:
        below = link + "/"
        i = bisect.bisect_left(ordered, below)
        if i < len(ordered) and ordered[i].startswith(below):
            owner = (owners or {}).get(link, label)
            whose = f" of {owner}" if owner != label else ""
            raise refuse(label, f"it writes {ordered[i]} through the symlink {link}{whose}")


def check_metadata(label: str, meta: Mapping[str, bytes]) -> tuple[list[str], bool, list[str]]:
    """index.json identity, paths.json (or info/files) entries, noarch kind, entry points."""
    entries, is_python, points, _declared = _metadata(label, meta)
    return entries, is_python, points


def _metadata(label: str, meta: Mapping[str, bytes]
              ) -> tuple[list[str], bool, list[str], dict[str, tuple[str, int | None]]]:
    """``check_metadata``, plus each listed path's declared type and size (None: not given)."""
    index = _json(label, meta, "info/index.json")
    if not isinstance(index, dict):
        raise refuse(label, "it has no readable info/index.json")
    check_identity(label, name=index.get("name"), version=index.get("version"),
                   build=index.get("build"))
    paths = _json(label, meta, "info/paths.json")
    if "info/paths.json" in meta:
        if not isinstance(paths, dict) or not isinstance(paths.get("paths"), list):
            raise refuse(label, "its info/paths.json has no list of paths")
        raw = [e.get("_path") if isinstance(e, dict) else None for e in paths["paths"]]
        kinds = [_kind(label, e if isinstance(e, dict) else {}) for e in paths["paths"]]
    elif "info/files" in meta:  # what the engine falls back to when paths.json is absent
        try:
            listing = meta["info/files"].decode("utf-8")
        except UnicodeDecodeError:
            raise refuse(label, "its info/files is not UTF-8 text") from None
        raw = [line for line in listing.split("\n")
               if line.strip()]
        kinds = [("any", None)] * len(raw)
    else:
        raise refuse(label, "it has neither info/paths.json nor info/files")
    entries = [check_path(label, p, "paths.json entry") for p in raw]
    link = _json(label, meta, "info/link.json")
    noarch = link.get("noarch") if isinstance(link, dict) else None
    points: list[str] = []
    for point in (noarch.get("entry_points") or []) if isinstance(noarch, dict) else []:
        found = _ENTRY_POINT.match(str(point))
        name = found.group(1) if found else ""
        check_identity(label, **{"entry point": name})
        points.append(name)
    is_python = index.get("noarch") == "python" or index.get("noarch_python") is True
    return entries, is_python, points, dict(zip(entries, kinds, strict=True))


#: The path types the engine knows (anything else fails inside the engine, after our checks).
PATH_TYPES = ("hardlink", "softlink", "directory")


def _kind(label: str, entry: Mapping[str, Any]) -> tuple[str, int | None]:
    """A paths.json entry's type and declared size, refused unless the engine can read them."""
    kind = entry.get("path_type", "hardlink")
    size = entry.get("size_in_bytes")
    where = entry.get("_path")
    if kind not in PATH_TYPES:
        raise refuse(label, f"its info/paths.json gives {where!r} the path_type {kind!r} "
                            f"(the engine knows {', '.join(PATH_TYPES)})")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise refuse(label, f"its info/paths.json gives {where!r} the size_in_bytes {size!r}, "
                            "which is not a number of bytes")
    return str(kind), size


def _json(label: str, meta: Mapping[str, bytes], name: str) -> Any:
    if name not in meta:
        return None
    try:
        return json.loads(meta[name])
    except (ValueError, RecursionError):  # RecursionError: nested thousands of levels deep
        raise refuse(label, f"its {name} is not valid JSON") from None


#: Metadata the engine reads from a package: each must be a plain file, never a link.
METADATA = ("info/index.json", "info/paths.json", "info/files", "info/link.json",
            "info/has_prefix", "info/no_link", "info/no_softlink")
#: Written into cache entries by conda (and by us, for conda); not package content.
NOT_FINGERPRINTED = frozenset({"info/repodata_record.json"})


def _bad_mode(mode: int) -> bool:
    return bool(mode & BAD_MODE) or bool(mode & stat.S_IWOTH)


@dataclass
class Tree:
    """What one ``lstat`` walk of a package folder saw."""

    links: dict[str, str]          # symlink name -> target
    names: list[str]               # every name (files, links, folders)
    sizes: dict[str, int]          # regular file name -> size


def walk_tree(folder: Path, label: str) -> Tree:
    """lstat every entry once, refusing bad names, modes and special files on the way."""
    links: dict[str, str] = {}
    names: list[str] = []
    sizes: dict[str, int] = {}
    stack = [("", str(folder))]
    while stack:
        rel, path = stack.pop()
        with os.scandir(path) as it:
            for entry in it:
                sub = rel + entry.name
                if _CONTROL.search(entry.name) or "\\" in entry.name:
                    raise refuse(label, f"the name {sub!r} contains a control character or a "
                                        "backslash")
                if not _utf8(entry.name):
                    raise refuse(label, f"the name {sub!r} is not valid UTF-8 (conda paths are "
                                        "UTF-8 text)")
                names.append(sub)
                st = entry.stat(follow_symlinks=False)
                mode = st.st_mode
                if stat.S_ISLNK(mode):
                    links[sub] = os.readlink(entry.path)
                elif stat.S_ISDIR(mode):
                    if _bad_mode(mode):
                        raise refuse(label, f"its folder {sub} has mode {stat.filemode(mode)} "
                                            "(setuid, setgid, sticky or world-writable)")
                    stack.append((sub + "/", entry.path))
                elif stat.S_ISREG(mode):
                    if _bad_mode(mode):
                        raise refuse(label, f"{sub} has mode {stat.filemode(mode)} "
                                            "(setuid, setgid, sticky or world-writable)")
                    sizes[sub] = st.st_size
                else:
                    raise refuse(label, f"{sub} in its cached copy is a device or special file")
    return Tree(links, names, sizes)


def fingerprint(folder: Path | str, entries: Iterable[str]) -> str:
    """Identity, mode, size and mtime (or link target) of what the engine links, as
    ``INFO:FILES`` (two digests: ``fingerprint_info`` and ``fingerprint_files``).

    What the engine reads is ``entries`` (the listed paths) plus ``info/``. The
    two halves are kept apart because they guard different things: ``info/``
    decides *where* the engine puts files (paths.json, link.json), so it is
    compared before anything is linked; the listed files only decide *what*
    the prefix holds, so a warm create compares them (with ``info/`` again) once
    the engine linked the package (``vet.Watch``) and links again from a fresh
    unpack if one changed. The
    same function fingerprints a fresh tree (after ``check_listed``: it holds
    exactly its entries) and a cached one, so the two can never disagree on
    how it is computed. A cache copied elsewhere (new inodes) is vetted again,
    once.
    """
    return f"{fingerprint_info(folder)}:{fingerprint_files(folder, entries)}"


def split_fingerprint(text: str) -> tuple[str, str]:
    """A stamp's ``INFO:FILES`` fingerprint as its two halves."""
    info, _, files = text.partition(":")
    return info, files


def fingerprint_files(folder: Path | str, entries: Iterable[str]) -> str:
    """One ``lstat`` per listed path (outside ``info/``), as one digest.

    A file added elsewhere is never linked, so it is not looked for: no
    directory reads, which keeps a warm create's check cheap. Each line
    carries the file's device and inode: a folder above a listed path swapped
    for a symlink redirects the engine's reads to other files, whose
    identities differ even where their sizes and mtimes were copied (the same
    identities mean the same, vetted files), so the folders themselves need no
    ``lstat``. An in-place edit through an environment's hard link changes the
    shared inode's mtime.
    """
    base = os.fspath(folder)
    names = [name for name in dict.fromkeys(entries) if not name.startswith("info/")]
    if _RELATIVE_LSTAT:  # names resolved from the package's folder, not from /
        fd = os.open(base, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            seen = [_note(name, name, fd) for name in names]
        finally:
            os.close(fd)
    else:
        seen = [_note(name, f"{base}/{name}") for name in names]
    return _digest(seen)


def fingerprint_info(folder: Path | str) -> str:
    """Everything in ``info/`` (walked: a file added there, such as a link.json, changes
    what the engine does), as one digest."""
    base = os.fspath(folder)
    seen: list[str] = []
    stack = ["info"]
    while stack:
        rel = stack.pop()
        try:
            it = os.scandir(f"{base}/{rel}")
        except OSError:
            seen.append(f"{rel}\0-")
            continue
        with it:
            for entry in it:
                sub = f"{rel}/{entry.name}"
                if sub in NOT_FINGERPRINTED:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(sub)
                else:
                    seen.append(_note(sub, entry.path))
    return _digest(seen)


def _digest(lines: list[str]) -> str:
    lines.sort()
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


#: lstat and readlink relative to an open folder (POSIX): the kernel walks the
#: package's own path once, not the cache's path again for every file.
_RELATIVE_LSTAT = os.lstat in os.supports_dir_fd and os.readlink in os.supports_dir_fd


def _note(name: str, path: str, dir_fd: int | None = None) -> str:
    """One entry's line of a fingerprint (a missing one has its own, never a vetted one's)."""
    try:
        st = os.lstat(path, dir_fd=dir_fd)
    except OSError:
        return f"{name}\0-"
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        return f"{name}\0l\0{os.readlink(path, dir_fd=dir_fd)}\0{st.st_dev}\0{st.st_ino}"
    return f"{name}\0{mode}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_dev}\0{st.st_ino}"


def _utf8(name: str) -> bool:
    """False for a name whose bytes were not UTF-8 (``os`` hands them over as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_extracted(folder: Path, label: str, *, budget: int | None = None,
                    max_members: int | None = None) -> Contents:
    """Validate a package as extracted on disk: exactly what the engine links from.

    ``budget`` and ``max_members`` (a fresh unpack) bound what it unpacked to:
    every byte and member is counted here, on the finished tree, whatever the
    archive's headers claimed. The tree must also be the one its own
    ``info/paths.json`` describes (see ``check_listed``).
    """
    tree = walk_tree(folder, label)
    if max_members is not None and len(tree.names) > max_members:
        raise too_many(label, max_members)
    if budget is not None and sum(tree.sizes.values()) > budget:
        raise too_big(label, budget)
    if "info" in tree.links or not (folder / "info").is_dir():
        raise refuse(label, "its info folder is missing or is a symlink")
    meta: dict[str, bytes] = {}
    for name in METADATA:
        try:
            st = os.lstat(folder / name)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(st.st_mode):
            raise refuse(label, f"its {name} is a link or not a plain file (the engine would "
                                "read whatever it points to)")
        meta[name] = (folder / name).read_bytes()
    check_targets(tree.links, dict.fromkeys(tree.links, label))
    entries, is_python, points, declared = _metadata(label, meta)
    check_below(label, tree.links, [*tree.names, *entries])
    check_listed(label, tree, declared)
    payload = {p: t for p, t in tree.links.items() if not p.startswith("info/")}
    return Contents(label, entries, payload, is_python, points, fingerprint(folder, entries))


def check_listed(label: str, tree: Tree, declared: Mapping[str, tuple[str, int | None]]) -> None:
    """The tree holds exactly what its metadata lists, with the sizes it declares.

    A package whose archive and ``paths.json`` disagree is damaged or built to
    show different readers different things (duplicate members, pax names
    hiding GNU ones): refused, whichever reader would have been right. Folders
    are not listed by conda packages and are not compared; on case-insensitive
    file systems names are compared as the file system does.
    """
    fold = str.casefold if CASE_INSENSITIVE else str
    present = {fold(n): n for n in (*tree.sizes, *tree.links) if not n.startswith("info/")}
    listed = {fold(p): p for p in declared}
    for key, name in sorted(present.items()):
        if key not in listed:
            raise refuse(label, f"its archive holds {name}, which its info/paths.json does "
                                "not list (a damaged or ambiguous archive)")
    for key, path in sorted(listed.items()):
        kind, size = declared[path]
        found = present.get(key)
        if kind == "directory":
            continue
        if found is None:
            raise refuse(label, f"its info/paths.json lists {path}, which its archive does not "
                                "hold (a damaged or ambiguous archive)")
        if kind == "hardlink" and found not in tree.sizes:
            raise refuse(label, f"its {path} is a symlink in the archive but a file in its "
                                "info/paths.json (a damaged or ambiguous archive)")
        if kind == "softlink" and found not in tree.links:
            raise refuse(label, f"its {path} is a file in the archive but a symlink in its "
                                "info/paths.json (a damaged or ambiguous archive)")
        if kind == "hardlink" and size is not None and tree.sizes[found] != size:
            raise refuse(label, f"its {path} is {tree.sizes[found]} bytes, but its "
                                f"info/paths.json says {size} (a damaged or ambiguous archive)")


def too_big(label: str, budget: int) -> UnsafePackageError:
    """The one refusal for a package past its byte budget (while unpacking or after)."""
    return refuse(label, f"it unpacks to more than {size_text(budget)} (a decompression "
                         "bomb?); if the package is genuine, raise the limit with --max-unpacked")


def too_many(label: str, max_members: int) -> UnsafePackageError:
    """The one refusal for a package with more members than allowed."""
    return refuse(label, f"it has more than {max_members} members; if the package is genuine, "
                         "raise the limit with --max-members")
