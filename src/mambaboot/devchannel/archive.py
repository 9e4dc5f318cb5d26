"""Write one real ``.tar.bz2`` conda package from a `PackageSpec`.

The writer is deterministic (sorted members, fixed mtimes, root ownership) so
that a rebuilt channel has identical hashes, which keeps package caches and
repodata stable across test sessions.  ``.tar.bz2`` was chosen over ``.conda``
because it needs nothing beyond the standard library; ``bz2`` releases the GIL,
so callers can build many packages in parallel threads.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

import rattler

from mambaboot.devchannel.spec import FIXED_MTIME, FileSpec, PackageSpec, RawMember


def _norm(relpath: str) -> str:
    """Payload paths are always forward-slash and relative inside archives."""
    return relpath.replace("\\", "/").lstrip("/")


def _payload(spec: PackageSpec) -> dict[str, FileSpec]:
    """All regular payload files, including link scripts, keyed by archive path."""
    out: dict[str, FileSpec] = {}
    for rel, value in spec.files.items():
        out[_norm(rel)] = value if isinstance(value, FileSpec) else FileSpec(value)
    for kind, body in spec.link_scripts.items():
        if spec.is_windows:
            rel = f"Scripts/.{spec.name}-{kind}.bat"
        else:
            rel = f"bin/.{spec.name}-{kind}.sh"
        out[rel] = FileSpec(body.encode(), executable=not spec.is_windows)
    return out


def _index_json(spec: PackageSpec) -> dict[str, Any]:
    index: dict[str, Any] = {
        "name": spec.name,
        "version": spec.version,
        "build": spec.build,
        "build_number": spec.build_number,
        "depends": list(spec.depends),
        "license": spec.license,
        "subdir": spec.subdir,
        "timestamp": spec.timestamp,
    }
    if spec.constrains:
        index["constrains"] = list(spec.constrains)
    if spec.noarch is not None:
        index["noarch"] = spec.noarch
    else:
        platform = rattler.Subdir(spec.subdir)
        index["arch"] = str(platform.arch) if platform.arch is not None else None
        index["platform"] = spec.subdir.split("-")[0]
    index.update(spec.extra_index_json)
    return index


def _paths_and_prefix(
    spec: PackageSpec, payload: dict[str, FileSpec]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Build paths.json entries and the legacy info/has_prefix lines."""
    entries: dict[str, dict[str, Any]] = {}
    has_prefix: list[str] = []
    for rel, fs in payload.items():
        entry: dict[str, Any] = {
            "_path": rel,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(fs.data).hexdigest(),
            "size_in_bytes": len(fs.data),
        }
        if fs.placeholder is not None:
            entry["prefix_placeholder"] = fs.placeholder
            entry["file_mode"] = fs.file_mode
            quoted = f'"{rel}"' if " " in rel else rel
            has_prefix.append(f"{fs.placeholder} {fs.file_mode} {quoted}")
        if fs.no_link:
            entry["no_link"] = True
        entries[rel] = entry
    for raw_rel, target in spec.symlinks.items():
        rel = _norm(raw_rel)
        entries[rel] = {
            "_path": rel,
            "path_type": "softlink",
            "sha256": hashlib.sha256(target.encode()).hexdigest(),
            "size_in_bytes": len(target.encode()),
        }
    ordered = [entries[k] for k in sorted(entries)]
    return ordered + list(spec.extra_paths_json_entries), sorted(has_prefix)


def _info_members(spec: PackageSpec, payload: dict[str, FileSpec]) -> dict[str, bytes]:
    paths, has_prefix = _paths_and_prefix(spec, payload)
    all_paths = sorted({*payload, *(_norm(p) for p in spec.symlinks)})
    info: dict[str, bytes] = {
        "info/index.json": _dumps(_index_json(spec)),
        "info/paths.json": _dumps({"paths": paths, "paths_version": 1}),
        "info/files": "".join(f"{p}\n" for p in all_paths).encode(),
        "info/about.json": _dumps({"summary": spec.summary, "license": spec.license}),
    }
    if has_prefix:
        info["info/has_prefix"] = "".join(f"{line}\n" for line in has_prefix).encode()
    if spec.noarch == "python":
        noarch: dict[str, Any] = {"type": "python"}
        if spec.entry_points:
            noarch["entry_points"] = list(spec.entry_points)
        info["info/link.json"] = _dumps({"noarch": noarch, "package_metadata_version": 1})
    for name, data in spec.info_files.items():
        info[f"info/{_norm(name)}"] = data
    for name in spec.omit_info:
        info.pop(name, None)
    return info


def _dumps(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def _tarinfo(name: str, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = FIXED_MTIME
    info.mode = mode
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = _tarinfo(name, mode)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, produced as read (a bomb never sits in memory)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        n = min(len(buf), self.left)
        buf[:n] = bytes(n)
        self.left -= n
        return n


def _add_conflicting(tar: tarfile.TarFile, member: RawMember) -> None:
    """One member whose pax ``path`` and GNU long name disagree (two readers, two names)."""
    assert member.pax_path is not None
    info = _tarinfo(member.name[:50], member.mode)
    info.size = len(member.data)
    # attr-defined: private tarfile helpers (not in typeshed), to write a header pair
    # no public API writes
    blocks = tarfile.TarInfo._create_pax_generic_header(  # type: ignore[attr-defined]
        {"path": member.pax_path}, tarfile.XHDTYPE, "utf-8")
    blocks += tarfile.TarInfo._create_gnu_long_header(  # type: ignore[attr-defined]
        member.name, tarfile.GNUTYPE_LONGNAME, "utf-8", "surrogateescape")
    blocks += info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")
    data = member.data + bytes(-len(member.data) % tarfile.BLOCKSIZE)
    assert tar.fileobj is not None
    tar.fileobj.write(blocks + data)
    tar.offset += len(blocks) + len(data)


def _add_raw(tar: tarfile.TarFile, member: RawMember) -> None:
    if member.pax_path is not None:
        _add_conflicting(tar, member)
        return
    info = _tarinfo(member.name, member.mode)
    if member.kind == "file" and member.size is not None:
        info.size = member.size
        tar.addfile(info, io.BufferedReader(_Zeros(member.size), 1 << 20))
        return
    if member.kind == "file":
        info.size = len(member.data)
        tar.addfile(info, io.BytesIO(member.data))
        return
    info.type = {
        "symlink": tarfile.SYMTYPE,
        "hardlink": tarfile.LNKTYPE,
        "dir": tarfile.DIRTYPE,
    }[member.kind]
    info.linkname = member.linkname
    tar.addfile(info)


def archive_bytes(spec: PackageSpec) -> bytes:
    """The complete archive for `spec` (``.tar.bz2`` or ``.conda`` by ``spec.fmt``), in memory."""
    if spec.fmt == "conda":
        return _conda_bytes(spec)
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w:bz2", compresslevel=spec.compresslevel, format=tarfile.PAX_FORMAT
    ) as tar:
        _write_members(spec, tar, tar)
    return buf.getvalue()


def _conda_bytes(spec: PackageSpec) -> bytes:
    """A ``.conda``: an uncompressed zip of ``info-*.tar.zst`` and ``pkg-*.tar.zst``."""
    import zipfile

    import zstandard

    stem = spec.filename.removesuffix(".conda")
    parts = {"info": io.BytesIO(), "pkg": io.BytesIO()}
    with (tarfile.open(fileobj=parts["info"], mode="w", format=tarfile.PAX_FORMAT) as info,
          tarfile.open(fileobj=parts["pkg"], mode="w", format=tarfile.PAX_FORMAT) as pkg):
        _write_members(spec, info, pkg)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        # fixed member dates: a rebuilt channel must have the same sha256s, or every
        # cache that saw the old build refuses the new one as "not matching"
        stamp = time.gmtime(FIXED_MTIME)[:6]
        zf.writestr(zipfile.ZipInfo("metadata.json", stamp), '{"conda_pkg_format_version": 2}')
        for kind in ("info", "pkg"):
            data = zstandard.ZstdCompressor(level=3).compress(parts[kind].getvalue())
            zf.writestr(zipfile.ZipInfo(f"{kind}-{stem}.tar.zst", stamp), data)
    return out.getvalue()


def _write_members(spec: PackageSpec, info_tar: tarfile.TarFile, tar: tarfile.TarFile) -> None:
    """info/ into ``info_tar``, the payload and raw members into ``tar`` (the same for .tar.bz2)."""
    payload = _payload(spec)
    info = _info_members(spec, payload)
    # info/ first: streaming readers can then stop before the payload.
    for name in sorted(info):
        _add_file(info_tar, name, info[name])
    members: list[tuple[str, FileSpec | str]] = [*payload.items()]
    members += [(_norm(k), v) for k, v in spec.symlinks.items()]
    for name, value in sorted(members, key=lambda m: m[0]):
        if isinstance(value, str):
            link = _tarinfo(name, 0o777)
            link.type = tarfile.SYMTYPE
            link.linkname = value
            tar.addfile(link)
        else:
            _add_file(tar, name, value.data, 0o755 if value.executable else 0o644)
    for raw in spec.raw_members:
        _add_raw(info_tar if raw.name.startswith("info/") else tar, raw)


def write_package(spec: PackageSpec, channel_dir: Path) -> Path:
    """Write `spec` into ``channel_dir/<subdir>/`` and return the archive path."""
    subdir = Path(channel_dir) / spec.subdir
    subdir.mkdir(parents=True, exist_ok=True)
    target = subdir / spec.filename
    data = archive_bytes(spec)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target
