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


def extracted(tmp_path: Path, **kw: object) -> Path:
    """A package unpacked the way the engine does, to be damaged by each test."""
    from rattler.package_streaming import extract

    folder = tmp_path / "tree"
    extract(write(tmp_path, spec(**kw)), folder)
    return folder


def tree_refused(folder: Path, *words: str) -> None:
    with pytest.raises(UnsafePackageError) as info:
        check_extracted(folder, "evil-1.0")
    for word in words:
        assert word in info.value.message, info.value.message


@pytest.mark.parametrize("name", ["info/paths.json", "info/index.json", "info/files",
                                  "info/link.json", "info/has_prefix"])
def test_tree_metadata_must_be_plain_files(tmp_path: Path, name: str) -> None:
    folder = extracted(tmp_path)
    (folder / "info" / "hidden").write_text("{}")
    (folder / name).unlink(missing_ok=True)
    (folder / name).symlink_to("hidden")
    tree_refused(folder, name, "not a plain file")


def test_tree_info_folder_must_be_real(tmp_path: Path) -> None:
    folder = extracted(tmp_path)
    os.rename(folder / "info", folder / "real-info")
    (folder / "info").symlink_to("real-info")
    tree_refused(folder, "info folder")


def test_tree_without_paths_json_falls_back_to_info_files(tmp_path: Path) -> None:
    folder = extracted(tmp_path)
    (folder / "info" / "paths.json").unlink()
    assert check_extracted(folder, "ok").entries == ["lib/ok.txt"]
    (folder / "info" / "files").write_text("lib/ok.txt\n../../escape\n")
    tree_refused(folder, "../../escape")
    (folder / "info" / "files").unlink()
    tree_refused(folder, "neither info/paths.json nor info/files")


@pytest.mark.parametrize(("mode", "word"), [(0o4755, "-rwsr-xr-x"), (0o2755, "-rwxr-sr-x"),
                                            (0o1644, "-rw-r--r-T"), (0o646, "-rw-r--rw-")])
def test_tree_modes(tmp_path: Path, mode: int, word: str) -> None:
    folder = extracted(tmp_path)
    os.chmod(folder / "lib" / "ok.txt", mode)
    tree_refused(folder, "lib/ok.txt", word)


def test_tree_names_and_special_files(tmp_path: Path) -> None:
    folder = extracted(tmp_path)
    (folder / "lib" / "new\nline").write_text("x")
    tree_refused(folder, "control character")
    (folder / "lib" / "new\nline").unlink()
    (folder / "lib" / "back\\slash").write_text("x")
    tree_refused(folder, "backslash")
    (folder / "lib" / "back\\slash").unlink()
    os.mkfifo(folder / "lib" / "fifo")
    tree_refused(folder, "lib/fifo", "special file")


def test_tree_fingerprint_sees_an_edit_through_a_hard_link(tmp_path: Path) -> None:
    folder = extracted(tmp_path)
    before = check_extracted(folder, "ok").fingerprint
    assert check_extracted(folder, "ok").fingerprint == before
    outside = tmp_path / "env-file"
    os.link(folder / "lib" / "ok.txt", outside)
    assert check_extracted(folder, "ok").fingerprint == before  # linking alone changes nothing
    with outside.open("a") as fh:
        fh.write("edited\n")
    assert check_extracted(folder, "ok").fingerprint != before


def test_readers_that_disagree_are_refused(tmp_path: Path) -> None:
    from mambaboot.archives import Wanted, sha256_file
    from mambaboot.engines.guard import _unpack_checked
    from mambaboot.pkgarchive import Limits
    from mambaboot.pkgcheck import check_same_names

    check_same_names("ok", frozenset({"lib/a/b", "info/x"}), frozenset({"lib", "lib/a", "lib/a/b",
                                                                         "info", "info/x"}))
    with pytest.raises(UnsafePackageError, match=r"lib/gnu was unpacked"):
        check_same_names("evil", frozenset({"lib/pax"}), frozenset({"lib", "lib/gnu"}))
    with pytest.raises(UnsafePackageError, match=r"lib/pax was not unpacked"):
        check_same_names("evil", frozenset({"lib/pax", "lib/b"}), frozenset({"lib", "lib/b"}))
    archive = write(tmp_path, spec(raw_members=[
        RawMember("lib/gnu-" + "n" * 120, data=b"data", pax_path="lib/pax-name")]))
    want = Wanted("evil", archive.name, archive.as_uri(), sha256_file(archive))
    pkgs = tmp_path / "pkgs"
    with pytest.raises(UnsafePackageError, match="tar readers disagree"):
        _unpack_checked(archive, want, pkgs, Limits())
    assert not (pkgs / want.dist).exists()
    assert list((pkgs / ".mambaboot-staging").iterdir()) == []


def test_bomb_limits_count_decompressed_bytes(tmp_path: Path) -> None:
    from mambaboot.pkgarchive import Limits, make_limits, parse_size

    bomb = write(tmp_path, spec(raw_members=[RawMember("share/zeros", size=8 << 20)]))
    tight = Limits(max_unpacked=4 << 20, max_ratio=0)
    with pytest.raises(UnsafePackageError, match="unpacks to more than 4 MiB"):
        check_archive(bomb, "evil-1.0", tight)
    ratio = Limits(ratio_floor=1 << 20, max_ratio=100)  # 8 MiB from a few KiB: > 100x
    with pytest.raises(UnsafePackageError, match="decompression bomb"):
        check_archive(bomb, "evil-1.0", ratio)
    check_archive(bomb, "ok", Limits())  # 8 MiB is under the default floor
    assert parse_size("64G") == 64 << 30 and parse_size("1.5k") == 1536
    assert make_limits("1G", None).max_ratio == 0
    assert make_limits(None, "7").max_members == 7
    for bad in ("lots", "-1G", "0"):
        with pytest.raises(ValueError):
            make_limits(bad, None)


def test_conda_zip_whose_directory_and_local_headers_disagree(tmp_path: Path) -> None:
    conda = as_conda(write(tmp_path, spec()))
    data = bytearray(conda.read_bytes())
    first = data.index(b"info-evil")  # the local header's copy of the name comes first
    data[first:first + 4] = b"INFO"
    conda.write_bytes(bytes(data))
    refused(conda, "local header")
    (tmp_path / "h").mkdir()
    hidden = as_conda(write(tmp_path / "h", spec()))
    raw = hidden.read_bytes()
    with zipfile.ZipFile(hidden) as zf:
        start = zf.start_dir  # type: ignore[attr-defined]
    padded = raw[:start] + b"\0" * 64 + raw[start:]
    # offsets in the central directory now miss the padding: bytes nobody lists
    hidden.write_bytes(padded)
    with pytest.raises(UnsafePackageError):
        check_archive(hidden, "evil-1.0")


def test_transaction_places_noarch_python_and_reserves_our_paths() -> None:
    from mambaboot.pkgcheck import Layout

    layout = Layout.for_python("3.11.7", windows=False)
    assert layout.place("site-packages/a.py") == "lib/python3.11/site-packages/a.py"
    assert layout.place("python-scripts/t") == "bin/t"
    win = Layout.for_python("3.11", windows=True)
    assert win.place("site-packages/a.py") == "Lib/site-packages/a.py"
    lib = Contents("lib", ["lib/python3.11/site-packages/d"],
                   {"lib/python3.11/site-packages/d": "../../.."})
    noarch = Contents("pure", ["site-packages/d/x.py"], {}, noarch_python=True)
    with pytest.raises(UnsafePackageError, match="pure"):
        check_transaction([lib, noarch], layout)  # caught only once site-packages/ is placed
    check_transaction([lib], layout)
    clobbers = check_transaction([Contents("py", ["bin/tool"], {}),
                                  Contents("ep", [], {}, noarch_python=True,
                                           entry_points=["tool"])], layout)
    assert [(c.path, c.packages) for c in clobbers] == [("bin/tool", ("py", "ep"))]
    for path in (".mambaboot/env.json", "activate.sh", "deactivate.bat", "pkgs/x",
                 "conda-meta/x.json", "__clobbers__/x"):
        with pytest.raises(UnsafePackageError, match="keeps for itself"):
            check_transaction([Contents("evil", [path], {})], layout)
    check_transaction([Contents("ok", ["lib/activate.sh", "share/pkgs/x"], {})], layout)
