"""pkgcheck/pkgarchive: hostile archives, cache dirs and prefixes are refused, good ones pass."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard

from mambaboot.devchannel import FileSpec, PackageSpec, RawMember, archive_bytes
from mambaboot.pkgarchive import check_archive
from mambaboot.pkgcheck import (
    Contents,
    UnsafePackageError,
    check_extracted,
    check_transaction,
    resolve,
    scan_prefix,
)


def spec(**kw: object) -> PackageSpec:
    kw.setdefault("files", {"lib/ok.txt": b"ok\n"})
    return PackageSpec("evil", "1.0", **kw)  # type: ignore[arg-type]


def write(tmp_path: Path, pkg: PackageSpec) -> Path:
    path = tmp_path / pkg.filename
    path.write_bytes(archive_bytes(pkg))
    return path


def as_conda(tarbz2: Path) -> Path:
    """Repack a .tar.bz2 as a .conda (zip of info-*.tar.zst and pkg-*.tar.zst)."""
    stem = tarbz2.name.removesuffix(".tar.bz2")
    parts: dict[str, io.BytesIO] = {"info": io.BytesIO(), "pkg": io.BytesIO()}
    with (tarfile.open(tarbz2, "r:bz2") as src,
          tarfile.open(fileobj=parts["info"], mode="w", format=tarfile.PAX_FORMAT) as info,
          tarfile.open(fileobj=parts["pkg"], mode="w", format=tarfile.PAX_FORMAT) as pkg):
        for member in src:
            data = src.extractfile(member) if member.isreg() else None
            (info if member.name.startswith("info/") else pkg).addfile(member, data)
    dest = tarbz2.with_name(stem + ".conda")
    with zipfile.ZipFile(dest, "w") as zf:
        zf.writestr("metadata.json", '{"conda_pkg_format_version": 2}')
        for kind, buf in parts.items():
            zf.writestr(f"{kind}-{stem}.tar.zst", zstandard.compress(buf.getvalue()))
    return dest


def refused(path: Path, *words: str) -> str:
    with pytest.raises(UnsafePackageError) as info:
        check_archive(path, "evil-1.0")
    message = info.value.message
    assert "evil-1.0" in message
    for word in words:
        assert word in message, message
    return message


HOSTILE = {
    "dotdot member": (spec(raw_members=[RawMember("../x", data=b"x")]), "'..'"),
    "absolute member": (spec(raw_members=[RawMember("/abs/x", data=b"x")]), "absolute"),
    "backslash member": (spec(raw_members=[RawMember("lib\\..\\..\\x")]), "backslash"),
    "escaping symlink": (spec(symlinks={"lib/escape": "../../../../tmp"}), "lib/escape"),
    "absolute symlink": (spec(symlinks={"lib/abs": "/etc"}), "outside"),
    "sibling trick": (spec(symlinks={"lib/evil": "../../env-evil/x"}), "outside"),
    "chain through a link": (spec(symlinks={"lib/a": "..", "lib/x": "a/../.."}), "lib/x"),
    "write through symlink": (spec(symlinks={"lib/d": "sub"},
                                   raw_members=[RawMember("lib/d/x", data=b"x")]), "through"),
    "hardlink escaping": (spec(raw_members=[RawMember("lib/h", kind="hardlink",
                                                      linkname="../../etc/passwd")]), "'..'"),
    "paths.json dotdot": (spec(extra_paths_json_entries=[
        {"_path": "../../../../tmp/x", "path_type": "hardlink"}]), "paths.json"),
    "paths.json absolute": (spec(extra_paths_json_entries=[
        {"_path": "/tmp/x", "path_type": "hardlink"}]), "absolute"),
    "paths.json NUL": (spec(extra_paths_json_entries=[
        {"_path": "lib/a\0b", "path_type": "hardlink"}]), "control character"),
    "name with slash": (spec(extra_index_json={"name": "ev/il"}), "name"),
    "build with dotdot": (spec(extra_index_json={"build": "h0_..x"}), "build"),
    "version with backslash": (spec(extra_index_json={"version": "1\\0"}), "version"),
    "version with NUL": (spec(extra_index_json={"version": "1\0"}), "version"),
    "entry point escaping": (spec(noarch="python", entry_points=["../x = m:f"]), "entry point"),
}


@pytest.mark.parametrize("fmt", ["tar.bz2", "conda"])
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archive_is_refused(tmp_path: Path, case: str, fmt: str) -> None:
    pkg, word = HOSTILE[case]
    path = write(tmp_path, pkg)
    refused(as_conda(path) if fmt == "conda" else path, word)


@pytest.mark.parametrize("fmt", ["tar.bz2", "conda"])
def test_ordinary_package_passes(tmp_path: Path, fmt: str) -> None:
    pkg = spec(files={"bin/tool": FileSpec(b"#!/bin/sh\n", executable=True),
                      "lib/libx.so.1": b"\x7fELF", "share/a/b.txt": b"b"},
               symlinks={"lib/libx.so": "libx.so.1", "share/up": "../lib/libx.so",
                         "lib/self": "../lib/../lib/libx.so.1"})
    path = write(tmp_path, pkg)
    contents = check_archive(as_conda(path) if fmt == "conda" else path, "ok")
    assert "bin/tool" in contents.entries
    assert contents.links == {"lib/libx.so": "libx.so.1", "share/up": "../lib/libx.so",
                              "lib/self": "../lib/../lib/libx.so.1"}


def test_device_member_and_corrupt_archive_are_refused(tmp_path: Path) -> None:
    good = write(tmp_path, spec())
    buf = io.BytesIO()
    with tarfile.open(good, "r:bz2") as src, tarfile.open(fileobj=buf, mode="w:bz2") as out:
        for member in src:
            out.addfile(member, src.extractfile(member) if member.isreg() else None)
        dev = tarfile.TarInfo("lib/null")
        dev.type, dev.devmajor, dev.devminor = tarfile.CHRTYPE, 1, 3
        out.addfile(dev)
    devpkg = tmp_path / "dev" / good.name
    devpkg.parent.mkdir()
    devpkg.write_bytes(buf.getvalue())
    refused(devpkg, "device")
    good.write_bytes(good.read_bytes()[:200])
    refused(good, "cannot be read")


def test_resolve_compares_components_not_strings() -> None:
    links = {"lib/evil": "../../env-evil", "lib/in": "../bin", "a/b/c": "../../lib/in/x"}
    assert resolve("lib/evil", links) is None
    assert resolve("lib/in", links) == ["bin"]
    assert resolve("a/b/c", links) == ["bin", "x"]
    assert resolve("loop", {"loop": "loop"}) is None  # a cycle is refused, not followed forever


def test_extracted_cache_dir(tmp_path: Path) -> None:
    folder = tmp_path / "evil-1.0-h0_0"
    with tarfile.open(write(tmp_path, spec(symlinks={"lib/in": "ok.txt"}))) as tar:
        tar.extractall(folder, filter="tar")
    assert check_extracted(folder, "evil").links == {"lib/in": "ok.txt"}
    os.symlink("../../../outside", folder / "lib" / "out")
    with pytest.raises(UnsafePackageError, match="lib/out"):
        check_extracted(folder, "evil")


def test_one_package_cannot_write_through_anothers_symlink() -> None:
    first = Contents("first", ["lib/d"], {"lib/d": ".."})
    second = Contents("second", ["lib/d/x"], {})
    with pytest.raises(UnsafePackageError, match=r"second.*lib/d/x.*symlink lib/d of first"):
        check_transaction([first, second])
    chain = Contents("third", ["lib/up"], {"lib/up": "d/../.."})
    with pytest.raises(UnsafePackageError, match="third"):
        check_transaction([first, chain])
    check_transaction([first, Contents("fine", ["bin/x"], {"bin/y": "x"})])


def test_prefix_scan(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    (prefix / "lib").mkdir(parents=True)
    (tmp_path / "env-evil").mkdir()
    os.symlink("../lib", prefix / "lib" / "inside")
    os.symlink("missing", prefix / "lib" / "dangling-inside")
    scan_prefix(prefix)
    os.symlink("../../env-evil", prefix / "lib" / "sibling")
    with pytest.raises(UnsafePackageError, match="lib/sibling"):
        scan_prefix(prefix)
