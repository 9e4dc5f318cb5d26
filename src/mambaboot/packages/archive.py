"""The first look at a package archive (``.tar.bz2`` or ``.conda``), before it is unpacked.

The archive is streamed once without extracting anything. This pass is not the
check of what gets linked (that is ``pkgcheck.check_extracted``, run on the
tree the engine's own reader unpacked, so two readers can never disagree about
what is linked). It exists to refuse what could hurt *while unpacking*:

* decompression bombs: too many members, or more bytes than ``Limits`` allow
  (counted on the decompressed stream itself, whatever the headers claim);
* names that are absolute, contain ``..``, empty components or control
  characters; duplicate members (the last one would silently win); sparse,
  device and other special members; setuid/setgid/sticky/world-writable modes;
* link-typed members at a metadata path (``info/paths.json`` as a hard link or
  symlink to a hidden member) and link targets that leave the package;
* a ``.conda`` zip whose central directory and local headers disagree, or that
  hides bytes between members (a streaming reader would see other members).
"""

from __future__ import annotations

import bz2
import struct
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mambaboot.errors import UnsafePackageError
from mambaboot.packages.rules import (
    BAD_MODE,
    METADATA,
    Contents,
    check_path,
    finish,
    refuse,
)

#: zstd frames in .conda archives may use a long window; allow what conda-forge uses.
MAX_ZSTD_WINDOW = 1 << 31
GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """How big one package may unpack. Defaults are far above real packages
    (conda-forge's largest unpack to a few GiB with under 100k files).

    A package may unpack to ``max_unpacked`` bytes at most, and, once past
    ``ratio_floor``, to at most ``max_ratio`` times its archive's size (real
    archives compress 2-20x; bombs 1000x and more). ``max_ratio = 0`` turns
    the ratio rule off (``--max-unpacked`` given explicitly does that).
    """

    max_unpacked: int = 32 * GIB
    max_members: int = 500_000
    max_ratio: int = 200
    ratio_floor: int = 512 * MIB

    def budget(self, archive_size: int) -> int:
        if not self.max_ratio:
            return self.max_unpacked
        return min(self.max_unpacked, max(self.ratio_floor, self.max_ratio * archive_size))


def _size(n: int) -> str:
    """``16 MiB``, ``64 KiB``, ``2 GiB``: whole units, as the limits are usually given."""
    for unit, scale in (("GiB", GIB), ("MiB", MIB), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


class _Counted:
    """A read-only stream that refuses to yield more than ``budget`` bytes in total."""

    def __init__(self, stream: IO[bytes], members: _Members) -> None:
        self.stream = stream
        self.members = members

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.members.unpacked += len(data)
        if self.members.unpacked > self.members.budget:
            raise self.members.too_big()
        return data


class _Members:
    """Collects what one package's tar members would create in the package dir."""

    def __init__(self, label: str, limits: Limits, archive_size: int) -> None:
        self.label = label
        self.limits = limits
        self.budget = limits.budget(archive_size)
        self.unpacked = 0
        self.declared = 0
        self.names: set[str] = set()
        self.links: dict[str, str] = {}
        self.meta: dict[str, bytes] = {}

    def too_big(self) -> UnsafePackageError:
        return refuse(self.label, f"it unpacks to more than {_size(self.budget)} (a "
                                  "decompression bomb?); if the package is genuine, raise the "
                                  "limit with --max-unpacked")

    def read(self, stream: IO[bytes]) -> None:
        # typeshed's tarfile wants a seekable, writable file; stream mode "r|" only reads
        with tarfile.open(fileobj=_Counted(stream, self),  # type: ignore[call-overload]
                          mode="r|") as tar:
            for member in tar:
                self.add(tar, member)

    def add(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        raw = member.name.removeprefix("./")
        if member.isdir() and raw.strip("/.") == "":
            return  # a "./" entry some archivers write: the package dir itself
        name = check_path(self.label, raw.rstrip("/") if member.isdir() else raw,
                          "archive member")
        if name in self.names:
            raise refuse(self.label, f"the archive member {name} appears twice")
        self.names.add(name)
        if len(self.names) > self.limits.max_members:
            raise refuse(self.label, f"it has more than {self.limits.max_members} members; if "
                                     "the package is genuine, raise the limit with --max-members")
        self.declared += max(member.size, 0)
        if self.declared > self.budget:
            raise self.too_big()
        if member.issparse():
            raise refuse(self.label, f"the archive member {name} is a sparse file")
        if (member.isreg() or member.isdir()) and member.mode & (BAD_MODE | 0o002):
            raise refuse(self.label, f"the archive member {name} has mode {member.mode:o} "
                                     "(setuid, setgid, sticky or world-writable)")
        if (member.issym() or member.islnk()) and name in METADATA:
            raise refuse(self.label, f"its {name} is a link member (the engine would read what "
                                     "it points to, not what is checked)")
        if member.issym():
            self.links[name] = member.linkname
        elif member.islnk():
            check_path(self.label, member.linkname, "hard link target")
        elif member.isreg():
            if name in METADATA:
                handle = tar.extractfile(member)
                self.meta[name] = handle.read() if handle else b""
        elif not member.isdir():
            raise refuse(self.label, f"the archive member {name} is a device or special file")


def check_archive(path: Path, label: str, limits: Limits | None = None) -> Contents:
    """Stream the archive at ``path`` (named ``label`` in messages) without extracting it."""
    members = _Members(label, limits or Limits(), path.stat().st_size)
    try:
        if path.name.endswith(".conda"):
            _read_conda(path, members)
        else:
            with bz2.open(path, "rb") as stream:
                members.read(stream)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError,
            RuntimeError) as exc:  # zipfile: encrypted or unsupported (NotImplementedError)
        raise refuse(label, f"its archive cannot be read ({type(exc).__name__}: {exc})") from None
    return finish(label, members.meta, members.links, members.names)


_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"


def check_zip_layout(archive: zipfile.ZipFile, fh: IO[bytes], label: str) -> None:
    """Central directory and local headers must describe the same members, back to back.

    Python reads the central directory; the engine streams local headers. A zip
    where they disagree, or with bytes hidden between members, shows the two
    readers different packages.
    """
    expected = 0
    for info in sorted(archive.infolist(), key=lambda i: i.header_offset):
        if info.header_offset != expected:
            raise refuse(label, f"its zip has unlisted bytes before {info.filename!r}")
        fh.seek(info.header_offset)
        header = fh.read(_LOCAL.size)
        if len(header) != _LOCAL.size or header[:4] != _LOCAL_MAGIC:
            raise refuse(label, f"its zip member {info.filename!r} has no local header")
        fields = _LOCAL.unpack(header)
        flags, name_len, extra_len = fields[2], fields[9], fields[10]
        local_name = fh.read(name_len).decode("utf-8" if flags & 0x800 else "cp437", "replace")
        if local_name != info.filename:
            raise refuse(label, f"its zip member {info.filename!r} is called {local_name!r} in "
                                "its local header")
        expected = info.header_offset + _LOCAL.size + name_len + extra_len + info.compress_size
        if flags & 0x08:  # a data descriptor follows the data
            fh.seek(expected)
            expected += 16 if fh.read(4) == b"PK\x07\x08" else 12
    if expected != archive.start_dir:
        raise refuse(label, "its zip has unlisted bytes after the last member")


def _read_conda(path: Path, members: _Members) -> None:
    """A .conda is a zip of ``info-*.tar.zst`` and ``pkg-*.tar.zst`` plus metadata.json."""
    import zstandard

    with path.open("rb") as fh, zipfile.ZipFile(fh) as archive:
        check_zip_layout(archive, fh, members.label)
        for info in archive.infolist():
            if "/" in info.filename or "\\" in info.filename or not info.filename.isprintable():
                raise refuse(members.label, f"its zip member {info.filename!r} is not a plain "
                                            "file name")
            if not info.filename.endswith(".tar.zst"):
                continue
            decompressor = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW)
            try:
                with archive.open(info) as raw, decompressor.stream_reader(raw) as stream:
                    members.read(stream)
            except zstandard.ZstdError as exc:
                raise refuse(members.label, f"its {info.filename} cannot be decompressed "
                                            f"({exc})") from None


def parse_size(text: str) -> int:
    """``'64G'`` -> bytes; raises ValueError for anything else."""
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1 << 10, "M": MIB, "G": GIB, "T": 1 << 40}.get(text[-1:], 1)
    number = float(text[:-1] if text[-1:] in "KMGT" else text)
    if number <= 0:
        raise ValueError(text)
    return int(number * scale)


def make_limits(max_unpacked: str | None, max_members: str | int | None) -> Limits:
    """Limits from user text; an explicit unpacked size replaces the ratio rule."""
    base = Limits()
    unpacked = parse_size(max_unpacked) if max_unpacked else base.max_unpacked
    members = int(max_members) if max_members else base.max_members
    if members <= 0:
        raise ValueError(str(max_members))
    return Limits(unpacked, members, 0 if max_unpacked else base.max_ratio, base.ratio_floor)
