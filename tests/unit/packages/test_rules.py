"""The package rules on what the engine unpacked: hostile archives, trees, prefixes, limits."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard

from mambaboot.devchannel import FileSpec, PackageSpec, RawMember, archive_bytes
from mambaboot.errors import UnsafePackageError
from mambaboot.fsutil import sha256_file
from mambaboot.packages.limits import Limits
from mambaboot.packages.rules import Clobber, Contents, check_extracted, resolve
from mambaboot.packages.transaction import (
    check_linked,
    check_transaction,
    major_minor,
    scan_prefix,
)
from mambaboot.packages.unpack import Job, unpack_checked


def unpacked(path: Path, label: str, limits: Limits | None = None) -> Contents:
    """Unpack ``path`` as a cold create does (the engine's reader, then the tree check).

    The staging folder sits next to the archive; ``tree_outside`` proves nothing
    was written beyond it.
    """
    limits = limits or Limits()
    staging = path.parent / f"staging-{path.name}-{len(list(path.parent.iterdir()))}"
    return unpack_checked(Job(path, staging, label, sha256_file(path),
                              limits.budget(path.stat().st_size), limits.max_members))


def unpacked_names(path: Path, label: str = "ok", limits: Limits | None = None) -> set[str]:
    """Every name the engine's reader unpacked from ``path`` (after the checks passed)."""
    from mambaboot.packages.rules import walk_tree

    before = set(path.parent.iterdir())
    unpacked(path, label, limits)
    (staging,) = set(path.parent.iterdir()) - before
    return set(walk_tree(staging, label).names)


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


SUFFIX = ("; nothing was installed from it, remove it from the channel or pin another build.")


def refused(path: Path, *words: str) -> str:
    with pytest.raises(UnsafePackageError) as info:
        unpacked(path, "evil-1.0")
    message = info.value.message
    assert message.startswith("Refused the package evil-1.0: "), message
    assert message.endswith(SUFFIX), message
    for word in words:
        assert word in message, message
    return message


HOSTILE = {
    # the engine's reader unpacks an absolute name inside the package: not listed, refused
    "absolute member": (spec(raw_members=[RawMember("/abs/x", data=b"x")]),
                        "holds abs/x, which its info/paths.json does not list"),
    "backslash member": (spec(raw_members=[RawMember("lib\\..\\..\\x")]), "backslash"),
    "escaping symlink": (spec(symlinks={"lib/escape": "../../../../tmp"}), "lib/escape"),
    "absolute symlink": (spec(symlinks={"lib/abs": "/etc"}), "outside"),
    "sibling trick": (spec(symlinks={"lib/evil": "../../env-evil/x"}), "outside"),
    "chain through a link": (spec(symlinks={"lib/a": "..", "lib/x": "a/../.."}), "lib/x"),
    "write through symlink": (spec(symlinks={"lib/d": "sub"},
                                   raw_members=[RawMember("lib/d/x", data=b"x")]),
                              "could not unpack it"),
    "hardlink escaping": (spec(raw_members=[RawMember("lib/h", kind="hardlink",
                                                      linkname="../../etc/passwd")]),
                          "hard link source escapes the destination"),
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
    contents = unpacked(as_conda(path) if fmt == "conda" else path, "ok")
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
    refused(devpkg, "lib/null")  # never a device in the tree: not listed, refused
    good.write_bytes(good.read_bytes()[:200])
    refused(good, "the engine could not unpack it")


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


@pytest.mark.parametrize("order", ["inner-last", "outer-last"])
def test_a_clobbered_symlink_is_checked_with_every_target(order: str) -> None:
    """Two packages ship lib/p with different targets; the engine keeps one of them by
    its own order. A chain through either must stay inside (attack: only the target of
    the package vetted last was checked, and the engine kept the other)."""
    inner = Contents("cla", ["lib/p"], {"lib/p": "../share"})
    outer = Contents("clb", ["lib/p"], {"lib/p": ".."})
    chain = Contents("clq", ["lib/q"], {"lib/q": "p/.."})
    pair = [outer, inner] if order == "inner-last" else [inner, outer]
    with pytest.raises(UnsafePackageError, match="lib/q"):
        check_transaction([*pair, chain])
    assert check_transaction(pair) == [Clobber("lib/p", tuple(c.label for c in pair))]


def _prefix_with_links_inside(tmp_path: Path) -> Path:
    """A prefix whose two symlinks stay inside, and a sibling folder to escape to."""
    prefix = tmp_path / "env"
    (prefix / "lib").mkdir(parents=True)
    (tmp_path / "env-evil").mkdir()
    os.symlink("../lib", prefix / "lib" / "inside")
    os.symlink("missing", prefix / "lib" / "dangling-inside")
    return prefix


def test_prefix_scan(tmp_path: Path) -> None:
    prefix = _prefix_with_links_inside(tmp_path)
    scan_prefix(prefix)
    os.symlink("../../env-evil", prefix / "lib" / "sibling")
    with pytest.raises(UnsafePackageError, match="lib/sibling"):
        scan_prefix(prefix)


@pytest.mark.parametrize(("version", "expected"), [
    ("3.11.7", "3.11"), ("0!3.11.7", "3.11"), ("3.11.7+local.1", "3.11"), ("3.13a1", "3.13"),
    ("3_11_7", "3.11"), ("3-11-7", "3.11"), ("3", "3"), (None, "3"), ("", "3")])
def test_python_major_minor_as_the_engine_reads_it(version: str | None, expected: str) -> None:
    """An epoch once moved noarch files to lib/python0!3.11 in our check only, so an
    escaping symlink was checked where the engine never put it (attack)."""
    assert major_minor(version) == expected


def test_linked_check_walks_everything_when_a_declared_link_is_elsewhere(
        tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    (prefix / "lib" / "python3.11").mkdir(parents=True)
    (tmp_path / "env-evil").mkdir()
    os.symlink("../../../env-evil", prefix / "lib" / "python3.11" / "esc")
    # declared at a path the engine did not use: the whole prefix is walked instead
    with pytest.raises(UnsafePackageError, match=r"lib/python3\.11/esc"):
        check_linked(prefix, {"lib/python0!3.11/esc": "../../../env-evil"})


def test_linked_check_follows_every_declared_symlink(tmp_path: Path) -> None:
    """check_linked: the rattler worker's after-link check, O(symlinks) (issue 15)."""
    prefix = _prefix_with_links_inside(tmp_path)
    declared = {"lib/inside": "../lib", "lib/dangling-inside": "missing"}
    check_linked(prefix, declared)
    os.symlink("../../env-evil", prefix / "lib" / "sibling")
    with pytest.raises(UnsafePackageError, match="lib/sibling"):
        check_linked(prefix, {**declared, "lib/sibling": "../../env-evil"})
    # a chain through a declared folder link is followed to its end; an undeclared
    # link next to a declared one (a path the engine renamed) is seen too
    os.unlink(prefix / "lib" / "sibling")
    os.symlink("../..", prefix / "lib" / "up__clobber-from-other")
    with pytest.raises(UnsafePackageError, match="lib/up__clobber-from-other"):
        check_linked(prefix, {"lib/inside": "../lib"})


def extracted(tmp_path: Path, **kw: object) -> Path:
    """A package unpacked the way the engine does, to be damaged by each test."""
    from rattler.package_streaming import extract

    folder = tmp_path / "tree"
    extract(write(tmp_path, spec(**kw)), folder)
    return folder


def tree_refused(folder: Path, *words: str) -> None:
    with pytest.raises(UnsafePackageError) as info:
        check_extracted(folder, "evil-1.0")
    assert info.value.message.startswith("Refused the package evil-1.0: ")
    assert info.value.message.endswith(SUFFIX)
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
    outside.write_bytes(b"OK\n")  # same size: only the fingerprint can tell
    os.utime(outside, ns=(1, 1))
    assert check_extracted(folder, "ok").fingerprint != before
    with outside.open("a") as fh:
        fh.write("edited\n")
    tree_refused(folder, "its lib/ok.txt is 10 bytes, but its info/paths.json says 3")




def test_bomb_limits_count_decompressed_bytes(tmp_path: Path) -> None:
    from mambaboot.packages.limits import Limits, make_limits, parse_size

    bomb = write(tmp_path, spec(files={"share/zeros": bytes(8 << 20)}))
    tight = Limits(max_unpacked=4 << 20, max_ratio=0)
    with pytest.raises(UnsafePackageError, match="unpacks to more than 4 MiB"):
        unpacked(bomb, "evil-1.0", tight)
    ratio = Limits(ratio_floor=1 << 20, max_ratio=100)  # 8 MiB from a few KiB: > 100x
    with pytest.raises(UnsafePackageError, match="decompression bomb"):
        unpacked(bomb, "evil-1.0", ratio)
    unpacked(bomb, "ok", Limits())  # 8 MiB is under the default floor
    assert parse_size("64G") == 64 << 30 and parse_size("1.5k") == 1536
    assert make_limits("1G", None).max_ratio == 0
    assert make_limits(None, "7").max_members == 7
    for bad in ("lots", "-1G", "0"):
        with pytest.raises(ValueError):
            make_limits(bad, None)




def test_transaction_places_noarch_python_and_reserves_our_paths() -> None:
    from mambaboot.packages.transaction import Layout

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


def _paths_json(*entries: dict[str, object]) -> bytes:
    return json.dumps({"paths_version": 1, "paths": list(entries)}).encode()


_OK_ENTRY = {"_path": "lib/ok.txt", "sha256": "0" * 64, "size_in_bytes": 3}

MORE_HOSTILE = {
    # what the engine would only trip over while linking, after every check said yes
    "file listed as a softlink": (spec(info_files={"paths.json": _paths_json(
        {**_OK_ENTRY, "path_type": "softlink"})}),
        "its lib/ok.txt is a file in the archive but a symlink in its info/paths.json"),
    "unknown path_type": (spec(info_files={"paths.json": _paths_json(
        {**_OK_ENTRY, "path_type": "bogus"})}),
        "its info/paths.json gives 'lib/ok.txt' the path_type 'bogus' (the engine knows "
        "hardlink, softlink, directory)"),
    "size that is not a number": (spec(info_files={"paths.json": _paths_json(
        {**_OK_ENTRY, "path_type": "hardlink", "size_in_bytes": "3"})}),
        "its info/paths.json gives 'lib/ok.txt' the size_in_bytes '3', which is not a number "
        "of bytes"),
    "name that is not UTF-8": (spec(raw_members=[RawMember("lib/bad\udcff\udcfe", data=b"x")]),
                               "is not valid UTF-8"),
    "empty component": (spec(raw_members=[RawMember("lib//x", data=b"x")]),
                        "its archive holds lib/x, which its info/paths.json does not list"),
    "dot component": (spec(extra_paths_json_entries=[{"_path": "lib/./x"}]),
                      "the paths.json entry 'lib/./x' has an empty or '.' component"),
    "drive letter": (spec(extra_paths_json_entries=[{"_path": "C:x"}]),
                     "the paths.json entry 'C:x' is absolute"),
    "empty paths.json entry": (spec(extra_paths_json_entries=[{"path_type": "hardlink"}]),
                               "a paths.json entry is empty or not a string"),
    "non-object paths.json entry": (spec(extra_paths_json_entries=["lib/x"]),
                                    "a paths.json entry is empty or not a string"),
    "empty version": (spec(extra_index_json={"version": None}),
                      "its version '' contains '/', '\\', '..' or a control character (or is "
                      "empty)"),
    "paths.json without list": (spec(info_files={"paths.json": b'{"paths": {}}'}),
                                "its info/paths.json has no list of paths"),
    "paths.json not JSON": (spec(info_files={"paths.json": b"{"}),
                            "its info/paths.json is not valid JSON"),
    "index.json not an object": (spec(info_files={"index.json": b"[]"}),
                                 "it has no readable info/index.json"),
    "paths.json symlink member": (spec(omit_info=("info/paths.json",), raw_members=[
        RawMember("info/paths.json", kind="symlink", linkname="hidden")]),
        "its info/paths.json is a link or not a plain file (the engine would read whatever it "
        "points to)"),
    "index.json hard link member": (spec(omit_info=("info/index.json",), raw_members=[
        RawMember("info/hidden", data=b"{}"),
        RawMember("info/index.json", kind="hardlink", linkname="info/hidden")]),
        "its name '' contains"),  # a hard link is the file itself: its content is checked
    "duplicate member": (spec(raw_members=[RawMember("lib/ok.txt", data=b"again")]),
                         "its lib/ok.txt is 5 bytes, but its info/paths.json says 3 (a damaged "
                         "or ambiguous archive)"),
    "setuid member": (spec(raw_members=[RawMember("lib/su", data=b"x", mode=0o4755)]),
                      "its archive holds lib/su, which its info/paths.json does not list"),
    "world-writable dir": (spec(raw_members=[RawMember("lib/d", kind="dir", mode=0o777)]),
                           "its folder lib/d has mode drwxrwxrwx"),
    "hard link to dotdot": (spec(raw_members=[RawMember("lib/h", kind="hardlink",
                                                        linkname="lib/../../x")]),
                            "hard link source escapes the destination: lib/../../x"),
    "symlink with backslash": (spec(symlinks={"lib/b": "..\\..\\..\\x"}),
                               "its symlink lib/b -> ..\\..\\..\\x points outside the "
                               "prefix"),
    "write below own link": (spec(symlinks={"lib/d": "."},
                                  raw_members=[RawMember("lib/d/x", data=b"x")]),
                             "its archive holds lib/x, which its info/paths.json does not list"),
}


@pytest.mark.parametrize("fmt", ["tar.bz2", "conda"])
@pytest.mark.parametrize("case", sorted(MORE_HOSTILE))
def test_hostile_archive_message(tmp_path: Path, case: str, fmt: str) -> None:
    pkg, text = MORE_HOSTILE[case]
    path = write(tmp_path, pkg)
    message = refused(as_conda(path) if fmt == "conda" else path)
    assert text in message, message


def test_missing_index_json_and_metadata(tmp_path: Path) -> None:
    path = write(tmp_path, spec(omit_info=("info/index.json",)))
    refused(path, "it has no readable info/index.json")
    (tmp_path / "b").mkdir()
    path = write(tmp_path / "b", spec(omit_info=("info/paths.json", "info/files")))
    refused(path, "it has neither info/paths.json nor info/files")


def test_info_files_fallback_reads_lines(tmp_path: Path) -> None:
    pkg = spec(omit_info=("info/paths.json",),
               files={"lib/ok.txt": b"ok\n", "lib/caf\u00e9 x": b""},
               info_files={"files": "lib/ok.txt\n\nlib/caf\u00e9 x\n".encode()})
    contents = unpacked(write(tmp_path, pkg), "ok")
    assert contents.entries == ["lib/ok.txt", "lib/caf\u00e9 x"]


def test_noarch_kind_and_entry_points_from_metadata(tmp_path: Path) -> None:
    contents = unpacked(write(tmp_path, spec(noarch="python", entry_points=[
        "tool = m:f", " other=m:g"])), "ok")
    assert contents.noarch_python is True
    assert contents.entry_points == ["tool", "other"]
    (tmp_path / "old").mkdir()
    old = unpacked(write(tmp_path / "old", spec(extra_index_json={"noarch_python": True})),
                        "ok")
    assert old.noarch_python is True
    (tmp_path / "gen").mkdir()
    gen = unpacked(write(tmp_path / "gen", spec(noarch="generic")), "ok")
    assert gen.noarch_python is False and gen.entry_points == []
    (tmp_path / "bad").mkdir()
    refused(write(tmp_path / "bad", spec(noarch="python", entry_points=["no equals sign"])),
            "its entry point '' contains")


def test_member_count_limit(tmp_path: Path) -> None:
    from mambaboot.packages.limits import Limits

    path = write(tmp_path, spec())
    with pytest.raises(UnsafePackageError) as info:
        unpacked(path, "evil-1.0", Limits(max_members=3))
    assert "it has more than 3 members; if the package is genuine, raise the limit with " \
           "--max-members" in info.value.message
    count = len(unpacked_names(path))
    unpacked(path, "ok", Limits(max_members=count))




def test_symlink_chain_longer_than_max_hops() -> None:
    from mambaboot.packages.rules import MAX_HOPS

    def chain(n: int) -> dict[str, str]:
        links = {f"l{i}": f"l{i + 1}" for i in range(n)}
        links[f"l{n}"] = "target"
        return links

    assert resolve("l0", chain(MAX_HOPS)) == ["target"]
    assert resolve("l0", chain(MAX_HOPS + 1)) is None
    assert resolve("a/l", {"a/l": "..\\x"}) == ["x"]
    assert resolve("a/l", {"a/l": ".//./x"}) == ["a", "x"]
    assert resolve("a/l", {"a/l": "x\nb"}) is None
    assert resolve("a/l", {"a/l": "\\x"}) is None


def test_parse_size_units() -> None:
    from mambaboot.packages.limits import parse_size

    assert parse_size("2M") == 2 << 20
    assert parse_size("2MiB") == 2 << 20
    assert parse_size("2mb") == 2 << 20
    assert parse_size("1T") == 1 << 40
    assert parse_size("512") == 512
    assert parse_size(" 3g ") == 3 << 30


def test_make_limits_members() -> None:
    from mambaboot.packages.limits import Limits, make_limits

    assert make_limits(None, None) == Limits()
    assert make_limits("2G", "1") == Limits(2 << 30, 1, 0, Limits().ratio_floor)
    with pytest.raises(ValueError, match="0"):
        make_limits(None, "0")
    assert Limits(max_unpacked=10 << 30, ratio_floor=1 << 20, max_ratio=10).budget(1 << 20) \
        == 10 << 20










def test_clobber_needs_two_packages_and_windows_entry_points() -> None:
    from mambaboot.packages.transaction import Layout

    win = Layout.for_python("3.11", windows=True)
    assert win == Layout("Lib/site-packages", "Scripts", True)
    assert Layout.for_python(None, windows=False) == Layout("lib/python3/site-packages", "bin")
    ep = Contents("ep", ["site-packages/m.py"], {"site-packages/l": "m.py"}, noarch_python=True,
                  entry_points=["tool"])
    assert win.installed(ep) == (["Lib/site-packages/m.py", "Scripts/tool-script.py",
                                  "Scripts/tool.exe"], {"Lib/site-packages/l": "m.py"})
    assert check_transaction([Contents("one", ["bin/x"], {})]) == []
    with pytest.raises(UnsafePackageError, match=r"Refused the package evil: it ships "
                                                 r"\.mambaboot, a path mambaboot keeps"):
        check_transaction([Contents("evil", [".mambaboot"], {})])
    check_transaction([Contents("ok", ["lib/.mambaboot"], {})])


def test_tree_messages(tmp_path: Path) -> None:
    folder = extracted(tmp_path)
    (folder / "info" / "paths.json").unlink()
    (folder / "info" / "paths.json").symlink_to("index.json")
    tree_refused(folder, "its info/paths.json is a link or not a plain file (the engine would "
                         "read whatever it points to)")
    (folder / "info" / "paths.json").unlink()
    os.rename(folder / "info", folder / "real-info")
    tree_refused(folder, "its info folder is missing or is a symlink")


def test_tree_info_links_are_not_payload(tmp_path: Path) -> None:
    folder = extracted(tmp_path, symlinks={"lib/l": "ok.txt"})
    (folder / "info" / "test").symlink_to("index.json")
    assert check_extracted(folder, "ok").links == {"lib/l": "ok.txt"}


def test_tree_fingerprint_ignores_repodata_record_only(tmp_path: Path) -> None:
    folder = extracted(tmp_path)
    before = check_extracted(folder, "ok").fingerprint
    (folder / "info" / "repodata_record.json").write_text("{}")
    assert check_extracted(folder, "ok").fingerprint == before
    (folder / "info" / "other.json").write_text("{}")
    assert check_extracted(folder, "ok").fingerprint != before


def test_prefix_scan_names_the_owner(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "lib" / "deep").mkdir(parents=True)
    (prefix / "conda-meta" / "broken.json").write_text("{")
    (prefix / "conda-meta" / "evil-1.0-h0_0.json").write_text(
        '{"files": ["lib/deep/out"]}')
    os.symlink("../../../outside", prefix / "lib" / "deep" / "out")
    with pytest.raises(UnsafePackageError) as info:
        scan_prefix(prefix)
    assert info.value.message == (
        "The package evil-1.0-h0_0 installed the symlink lib/deep/out -> ../../../outside, which "
        "points outside the prefix; the environment was removed, remove the package from the "
        "channel or pin another build.")
    (prefix / "conda-meta" / "evil-1.0-h0_0.json").unlink()
    with pytest.raises(UnsafePackageError, match="The package owning lib/deep/out installed"):
        scan_prefix(prefix)



def full(problem: str, label: str = "evil-1.0") -> str:
    return f"Refused the package {label}: {problem}{SUFFIX}"


def test_exact_refusal_messages(tmp_path: Path) -> None:
    from mambaboot.packages.limits import Limits

    def message(call: object, *args: object) -> str:
        with pytest.raises(UnsafePackageError) as info:
            call(*args)  # type: ignore[operator]
        return info.value.message

    folder = extracted(tmp_path)
    os.rename(folder / "info", folder / "real-info")
    assert message(check_extracted, folder, "evil-1.0") == full(
        "its info folder is missing or is a symlink")
    os.rename(folder / "real-info", folder / "info")
    os.chmod(folder / "lib" / "ok.txt", 0o666)  # noqa: S103 - the hostile mode under test
    assert message(check_extracted, folder, "evil-1.0") == full(
        "lib/ok.txt has mode -rw-rw-rw- (setuid, setgid, sticky or world-writable)")
    os.chmod(folder / "lib" / "ok.txt", 0o644)
    (folder / "lib" / "a\\b").write_text("x")
    assert message(check_extracted, folder, "evil-1.0") == full(
        "the name 'lib/a\\\\b' contains a control character or a backslash")
    assert message(check_transaction, [Contents("evil-1.0", [".mambaboot/a/b"], {})]) == full(
        "it ships .mambaboot/a/b, a path mambaboot keeps for itself in every environment")
    bomb = write(tmp_path, spec(files={"share/zeros": bytes(3 << 20)}))
    assert message(unpacked, bomb, "evil-1.0", Limits(max_unpacked=2 << 20,
                                                           max_ratio=0)) == full(
        "it unpacks to more than 2 MiB (a decompression bomb?); if the package is genuine, "
        "raise the limit with --max-unpacked")
    (tmp_path / "m").mkdir()
    path = write(tmp_path / "m", spec(omit_info=("info/index.json",)))
    assert message(unpacked, path, "evil-1.0") == full("it has no readable info/index.json")
    (tmp_path / "n").mkdir()
    path = write(tmp_path / "n", spec(omit_info=("info/paths.json", "info/files")))
    assert message(unpacked, path, "evil-1.0") == full(
        "it has neither info/paths.json nor info/files")
    (tmp_path / "o").mkdir()
    path = write(tmp_path / "o", spec(info_files={"paths.json": b"[]"}))
    assert message(unpacked, path, "evil-1.0") == full(
        "its info/paths.json has no list of paths")






def test_a_leading_dot_slash_in_member_names_is_the_same_member(tmp_path: Path) -> None:
    good = write(tmp_path, spec())
    buf = io.BytesIO()
    with tarfile.open(good, "r:bz2") as src, tarfile.open(fileobj=buf, mode="w:bz2") as out:
        for member in src:
            data = src.extractfile(member) if member.isreg() else None
            member.name = "./" + member.name
            out.addfile(member, data)
    dotted = tmp_path / "dotted" / good.name
    dotted.parent.mkdir()
    dotted.write_bytes(buf.getvalue())
    names = unpacked_names(dotted)
    assert "lib/ok.txt" in names and "./lib/ok.txt" not in names


def test_info_files_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    folder = extracted(tmp_path)
    (folder / "info" / "paths.json").unlink()
    (folder / "info" / "files").write_bytes(b"lib/ok.txt\nlib/\xff\xfe\n")
    tree_refused(folder, "info/files is not UTF-8")




def test_metadata_refusals_name_the_package(tmp_path: Path) -> None:
    for name in ("index.json", "link.json"):
        (tmp_path / name).mkdir()
        path = write(tmp_path / name, spec(info_files={name: b"{"}))
        with pytest.raises(UnsafePackageError) as info:
            unpacked(path, "evil-1.0")
        assert info.value.message == full(f"its info/{name} is not valid JSON")
    folder = extracted(tmp_path)
    (folder / "info" / "paths.json").unlink()
    (folder / "info" / "files").write_bytes(b"lib/\xff\n")
    with pytest.raises(UnsafePackageError) as info:
        check_extracted(folder, "evil-1.0")
    assert info.value.message == full("its info/files is not UTF-8 text")


def test_parent_folders_with_spaces_are_expected(tmp_path: Path) -> None:
    names = unpacked_names(write(tmp_path, spec(files={"lib/a b/c": b"c"})))
    assert {"lib", "lib/a b", "lib/a b/c"} <= names


def test_prefix_scan_owner_among_odd_records(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True)
    (prefix / "lib").mkdir()
    (meta / "broken.json").write_text("{")  # unreadable: skipped
    (meta / "nofiles-1.0-h0_0.json").write_text("{}")  # lists no files: skipped
    for i in range(100):  # the owner listed after both, whatever order the folder lists in
        owner = meta / f"evil-1.0-h{i}_0.json"
        owner.write_text('{"files": ["lib/out"]}')
        if [p.name for p in meta.glob("*.json")][-1] == owner.name:
            break
        owner.unlink()
    os.symlink("../../outside", prefix / "lib" / "out")
    with pytest.raises(UnsafePackageError, match=f"The package {owner.stem} installed"):
        scan_prefix(prefix)
    owner.unlink()
    with pytest.raises(UnsafePackageError, match="The package owning lib/out installed"):
        scan_prefix(prefix)


def test_size_units_in_messages() -> None:
    from mambaboot.packages.limits import size_text

    assert size_text(1 << 30) == "1 GiB"
    assert size_text(3 << 29) == "1.5 GiB"
    assert size_text(1 << 20) == "1 MiB"
    assert size_text(1 << 10) == "1 KiB"
    assert size_text(1000) == "1000 bytes"




def test_odd_but_harmless_member_names(tmp_path: Path) -> None:
    good = write(tmp_path, spec())
    buf = io.BytesIO()
    with tarfile.open(good, "r:bz2") as src, tarfile.open(fileobj=buf, mode="w:bz2") as out:
        top = tarfile.TarInfo(".")
        top.type, top.mode = tarfile.DIRTYPE, 0o755
        out.addfile(top)  # "./": the package folder itself
        for member in src:
            out.addfile(member, src.extractfile(member) if member.isreg() else None)
        for name in ("X", "lib/sp "):
            folder = tarfile.TarInfo(name)
            folder.type, folder.mode = tarfile.DIRTYPE, 0o755
            out.addfile(folder)
    odd = tmp_path / "odd" / good.name
    odd.parent.mkdir()
    odd.write_bytes(buf.getvalue())
    names = unpacked_names(odd)
    assert {"X", "lib/sp ", "lib/ok.txt"} <= names and "." not in names






def test_parse_size_refuses_unknown_units() -> None:
    from mambaboot.packages.limits import parse_size

    for bad in ("3x", "2X", "1Q"):
        with pytest.raises(ValueError, match="could not convert"):
            parse_size(bad)
    with pytest.raises(ValueError, match=r"^-1$"):
        parse_size("-1")


def streamed_zip(members: list[tuple[str, bytes]]) -> bytes:
    """A zip written to a pipe (no seeking): every member gets a data descriptor (0x08)."""

    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: bytes) -> int:  # type: ignore[override]
            self.data += b
            return len(b)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as out:  # type: ignore[arg-type]
        for name, payload in members:
            with out.open(name, "w") as fh:
                fh.write(payload)
    return bytes(sink.data)


def zip_members(conda: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(conda) as src:
        return [(i.filename, src.read(i)) for i in src.infolist()]
















def test_metadata_nested_too_deep_is_a_refusal_not_a_crash() -> None:
    from mambaboot.packages.rules import check_metadata

    meta = {"info/index.json": b'{"name": "evil", "version": "1.0", "build": "0"}',
            "info/files": b"lib/ok.txt\n", "info/link.json": b"[" * 200_000 + b"]" * 200_000}
    with pytest.raises(UnsafePackageError, match=r"evil-1.0: its info/link.json is not valid"):
        check_metadata("evil-1.0", meta)


def test_on_case_insensitive_file_systems_case_only_differences_are_one_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from mambaboot.packages import transaction

    up = Contents("a", ["lib/Dir"], {"lib/Dir": ".."})
    through = Contents("b", ["lib/dir/x"], {})
    tools = [Contents("c", ["bin/Tool"], {}), Contents("d", ["bin/tool"], {})]
    monkeypatch.setattr(transaction, "CASE_INSENSITIVE", False)
    check_transaction([up, through])  # ext4: two different folders
    assert check_transaction(tools) == []
    monkeypatch.setattr(transaction, "CASE_INSENSITIVE", True)
    with pytest.raises(UnsafePackageError, match=r"b: it writes lib/dir/x through the symlink"):
        check_transaction([up, through])
    [clobber] = check_transaction(tools)
    assert clobber.packages == ("c", "d")
    nfd = Contents("e", ["share/cafe\u0301"], {})
    nfc = Contents("f", ["share/caf\u00e9"], {})
    assert [c.packages for c in check_transaction([nfd, nfc])] == [("e", "f")]
