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
symlink; no device files; name, version and build are plain single names.
"""

from __future__ import annotations

import bisect
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mambaboot.errors import MambabootError

#: Symlink chains longer than this are refused (the kernel's limit is 40 too).
MAX_HOPS = 40
_DRIVE = re.compile(r"^[A-Za-z]:")
_ENTRY_POINT = re.compile(r"^\s*([^=\s]+)\s*=")


class UnsafePackageError(MambabootError):
    """A package would write outside the prefix, or is malformed in a way that could."""


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


def check_path(label: str, path: object, what: str = "path") -> str:
    """A package-relative path without tricks, normalised to ``a/b/c``."""
    if not isinstance(path, str) or not path.strip():
        raise refuse(label, f"a {what} is empty or not a string")
    if "\0" in path or "\\" in path:
        raise refuse(label, f"the {what} {path!r} contains a NUL byte or a backslash")
    if path.startswith("/") or _DRIVE.match(path):
        raise refuse(label, f"the {what} {path!r} is absolute")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise refuse(label, f"the {what} {path!r} contains '..' and could escape the prefix")
    return "/".join(parts)


def check_identity(label: str, **fields: object) -> None:
    """name/version/build become directory and file names: one plain component each."""
    for key, value in fields.items():
        text = str(value) if value is not None else ""
        if not text or any(bad in text for bad in ("/", "\\", "\0", "..")):
            raise refuse(label, f"its {key} {text!r} contains '/', '\\', '..' or NUL (or is "
                                "empty)")


def _components(target: str) -> list[str] | None:
    """A symlink target as components in reverse (a work stack); None if absolute."""
    if "\0" in target or target.startswith(("/", "\\")) or _DRIVE.match(target):
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


def check_metadata(label: str, meta: Mapping[str, bytes]) -> list[str]:
    """index.json identity, paths.json (or info/files) entries, link.json entry points."""
    index = _json(label, meta, "info/index.json")
    if not isinstance(index, dict):
        raise refuse(label, "it has no readable info/index.json")
    check_identity(label, name=index.get("name"), version=index.get("version"),
                   build=index.get("build"))
    paths = _json(label, meta, "info/paths.json")
    if isinstance(paths, dict) and isinstance(paths.get("paths"), list):
        raw = [e.get("_path") if isinstance(e, dict) else None for e in paths["paths"]]
    elif "info/files" in meta:
        raw = meta["info/files"].decode("utf-8", "replace").splitlines()
    else:
        raise refuse(label, "it has neither info/paths.json nor info/files")
    entries = [check_path(label, p, "paths.json entry") for p in raw if p != ""]
    link = _json(label, meta, "info/link.json")
    noarch = link.get("noarch") if isinstance(link, dict) else None
    for point in (noarch.get("entry_points") or []) if isinstance(noarch, dict) else []:
        found = _ENTRY_POINT.match(str(point))
        check_identity(label, **{"entry point": found.group(1) if found else ""})
    return entries


def _json(label: str, meta: Mapping[str, bytes], name: str) -> Any:
    if name not in meta:
        return None
    try:
        return json.loads(meta[name])
    except ValueError:
        raise refuse(label, f"its {name} is not valid JSON") from None


#: Metadata files read while checking; payload bytes are never kept.
METADATA = ("info/index.json", "info/paths.json", "info/files", "info/link.json")


def check_extracted(folder: Path, label: str) -> Contents:
    """Validate a package already extracted in the cache, walking it once."""
    links: dict[str, str] = {}
    names: list[str] = []
    stack = [("", str(folder))]
    while stack:
        rel, path = stack.pop()
        with os.scandir(path) as it:
            for entry in it:
                sub = f"{rel}{entry.name}"
                names.append(sub)
                if entry.is_symlink():
                    links[sub] = os.readlink(entry.path)
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((sub + "/", entry.path))
                elif not entry.is_file(follow_symlinks=False):
                    raise refuse(label, f"{sub} in its cached copy is a device or special file")
    meta = {n: (folder / n).read_bytes() for n in METADATA if n in names and n not in links}
    return finish(label, meta, links, names)


def finish(label: str, meta: Mapping[str, bytes], links: Mapping[str, str],
           names: Iterable[str]) -> Contents:
    """Shared tail of the archive and directory checks."""
    check_targets(links, dict.fromkeys(links, label))
    entries = check_metadata(label, meta)
    check_below(label, links, [*names, *entries])
    payload = {p: t for p, t in links.items() if not p.startswith("info/")}
    return Contents(label, entries, payload)


def check_transaction(packages: list[Contents]) -> None:
    """Symlinks of one package must not let another write or point outside the prefix."""
    links: dict[str, str] = {}
    owners: dict[str, str] = {}
    for pkg in packages:
        for path, target in pkg.links.items():
            links[path], owners[path] = target, pkg.label
    if not links:
        return
    check_targets(links, owners)
    for pkg in packages:
        check_below(pkg.label, links, pkg.entries, owners)


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
                        raise refuse(_owner(prefix, rel), f"its symlink {rel} -> "
                                     f"{os.readlink(entry.path)} points outside the prefix")
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)


def _owner(prefix: Path, rel: str) -> str:
    """Which installed package owns ``rel`` (only looked up when something is wrong)."""
    for meta in (prefix / "conda-meta").glob("*.json"):
        try:
            if rel in json.loads(meta.read_text(encoding="utf-8")).get("files", []):
                return meta.stem
        except (OSError, ValueError):
            continue
    return f"owning {rel}"
