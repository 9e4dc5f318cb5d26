"""Stream a package archive (``.tar.bz2`` or ``.conda``) through pkgcheck's rules.

Archives are read once, as a stream, and nothing is extracted: member names,
types and link targets are checked as they go by, and only the few metadata
files pkgcheck needs (index.json, paths.json, files, link.json) are kept in
memory. The same rules then apply as to an already extracted cache directory.
"""

from __future__ import annotations

import bz2
import tarfile
import zipfile
from pathlib import Path
from typing import IO

from mambaboot.pkgcheck import METADATA, Contents, check_path, finish, refuse

#: zstd frames in .conda archives may use a long window; allow what conda-forge uses.
MAX_ZSTD_WINDOW = 1 << 31


class _Members:
    """Collects what one package's tar members would create in the package dir."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.names: set[str] = set()
        self.links: dict[str, str] = {}
        self.meta: dict[str, bytes] = {}

    def read(self, stream: IO[bytes]) -> None:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                self.add(tar, member)

    def add(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        if member.isdir() and member.name.strip("./") == "":
            return  # a "./" entry some archivers write: the package dir itself
        name = check_path(self.label, member.name, "archive member")
        if name in self.names:
            raise refuse(self.label, f"the archive member {name} appears twice")
        self.names.add(name)
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


def check_archive(path: Path, label: str) -> Contents:
    """Validate the archive at ``path`` (named ``label`` in messages) without extracting it."""
    members = _Members(label)
    try:
        if path.name.endswith(".conda"):
            _read_conda(path, members)
        else:
            with bz2.open(path, "rb") as stream:
                members.read(stream)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise refuse(label, f"its archive cannot be read ({type(exc).__name__}: {exc})") from None
    return finish(label, members.meta, members.links, members.names)


def _read_conda(path: Path, members: _Members) -> None:
    """A .conda is a zip of ``info-*.tar.zst`` and ``pkg-*.tar.zst`` plus metadata.json."""
    import zstandard

    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if "/" in info.filename or "\\" in info.filename or "\0" in info.filename:
                raise refuse(members.label, f"its zip member {info.filename!r} is not a plain "
                                            "file name")
            if not info.filename.endswith(".tar.zst"):
                continue
            decompressor = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW)
            try:
                with archive.open(info) as raw, decompressor.stream_reader(raw) as stream:
                    members.read(stream)  # type: ignore[arg-type]
            except zstandard.ZstdError as exc:
                raise refuse(members.label, f"its {info.filename} cannot be decompressed "
                                            f"({exc})") from None
