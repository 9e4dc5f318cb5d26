"""Hostile and broken packages through the real CLI: refused before linking, nothing escapes.

Each package aims at a sentinel directory next to the environments root (never a
real system path); the test proves no byte landed there or anywhere else
outside the root, and that the half-made prefix was removed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from mambaboot.devchannel import PackageSpec, RawMember, index_channel, write_package
from tests.support.sandbox import EngineUnderTest, Sandbox

PKG = "evil"


def tree_state(folder: Path, skip: Path) -> dict[str, str]:
    """Every path under ``folder`` (except ``skip``) with a digest of what it holds."""
    state = {}
    for path in sorted(folder.rglob("*")):
        if path == skip or skip in path.parents:
            continue
        if path.is_symlink():
            state[str(path)] = "-> " + str(path.readlink())
        elif path.is_file():
            state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            state[str(path)] = "dir"
    return state


def hostile(base: Path) -> dict[str, PackageSpec]:
    """Each case aims at ``base/target`` (base is the parent of the environments root)."""
    target = base / "target"
    ok = {"lib/ok.txt": b"ok\n"}
    evil_paths = json.dumps({"paths_version": 1, "paths": [
        {"_path": "lib/ok.txt", "path_type": "hardlink", "sha256": "0" * 64, "size_in_bytes": 3},
        {"_path": "s/../../../../../target/via-paths-json", "path_type": "hardlink",
         "sha256": "0" * 64, "size_in_bytes": 3}]}).encode()
    return {
        "member-dotdot": PackageSpec(PKG, "1.0", files=ok, raw_members=[
            RawMember("../../../../target/dotdot", data=b"pwned")]),
        "member-absolute": PackageSpec(PKG, "1.0", files=ok, raw_members=[
            RawMember(str(target / "absolute"), data=b"pwned")]),
        "symlink-escape": PackageSpec(PKG, "1.0", files=ok,
                                      symlinks={"lib/escape": "../../../target"}),
        "symlink-sibling": PackageSpec(PKG, "1.0", files=ok,
                                       symlinks={"lib/evil": "../../env-evil"}),
        "write-through-symlink": PackageSpec(PKG, "1.0", files=ok, symlinks={
            "lib/d": "../../../target"}, raw_members=[RawMember("lib/d/pwned", data=b"pwned")]),
        "hardlink-escape": PackageSpec(PKG, "1.0", files=ok, raw_members=[
            RawMember("lib/h", kind="hardlink", linkname="../../../../target/file")]),
        "paths-json-escape": PackageSpec(PKG, "1.0", files=ok, extra_paths_json_entries=[
            {"_path": "../../target/x", "path_type": "hardlink", "sha256": "0" * 64,
             "size_in_bytes": 0}]),
        "build-dotdot": PackageSpec(PKG, "1.0", files=ok,
                                    extra_index_json={"build": "h0_..x"}),
        "build-slash": PackageSpec(PKG, "1.0", files=ok,
                                   extra_index_json={"build": "h0/../../../target"}),
        "build-backslash": PackageSpec(PKG, "1.0", files=ok,
                                       extra_index_json={"build": "h0\\..\\x"}),
        # one package's symlink to the prefix, another writing "through" it to escape
        "cross-package": PackageSpec(PKG, "1.0", files=ok, depends=["evil-base"],
                                     symlinks={"lib/a/up": "../../.."}),
        # two readers of one archive: metadata as a link member to a hidden member
        "paths-json-hardlink": PackageSpec(PKG, "1.0", files=ok, symlinks={"s": "d/d/d/d"},
                                           omit_info=("info/paths.json",), raw_members=[
            RawMember("info/hidden.json", data=evil_paths),
            RawMember("info/paths.json", kind="hardlink", linkname="info/hidden.json")]),
        "paths-json-symlink": PackageSpec(PKG, "1.0", files=ok, omit_info=("info/paths.json",),
                                          raw_members=[
            RawMember("info/hidden.json", data=evil_paths),
            RawMember("info/paths.json", kind="symlink", linkname="hidden.json")]),
        "index-json-symlink": PackageSpec(PKG, "1.0", files=ok, omit_info=("info/index.json",),
                                          raw_members=[
            RawMember("info/index.json", kind="symlink", linkname="../lib/ok.txt")]),
        "pax-vs-gnu-name": PackageSpec(PKG, "1.0", files=ok, raw_members=[RawMember(
            "lib/" + "harmless" * 20, data=b"pwned", pax_path="../../../../target/pax")]),
        # Python's tarfile reads the pax name, rattler the GNU one: paths.json for one only
        "pax-hides-paths-json": PackageSpec(PKG, "1.0", files=ok, symlinks={"s": "d/d/d/d"},
                                            omit_info=("info/paths.json",), raw_members=[
            RawMember("info/paths.json", data=evil_paths, pax_path="info/harmless.json")]),
        # harmless names, but the readers still disagree: refused as ambiguous
        "pax-vs-gnu-harmless": PackageSpec(PKG, "1.0", files=ok, raw_members=[RawMember(
            "lib/gnu-" + "n" * 120, data=b"data", pax_path="lib/pax-name")]),
        "duplicate-member": PackageSpec(PKG, "1.0", files=ok, raw_members=[
            RawMember("lib/ok.txt", data=b"second copy")]),
        "noarch-symlink-escape": PackageSpec(PKG, "1.0", noarch="python",
                                             files={"site-packages/ok.py": b""},
                                             symlinks={"site-packages/esc": "../../../../target"}),
        "newline-name": PackageSpec(PKG, "1.0", files=ok, raw_members=[
            RawMember("lib/new\nline", data=b"x")]),
        "empty-component": PackageSpec(PKG, "1.0", files=ok, extra_paths_json_entries=[
            {"_path": "lib//ok.txt", "path_type": "hardlink", "sha256": "0" * 64,
             "size_in_bytes": 3}]),
        "setuid": PackageSpec(PKG, "1.0", files=ok, raw_members=[
            RawMember("bin/suid", data=b"#!/bin/sh\n", mode=0o4755)]),
        "sticky-world-writable": PackageSpec(PKG, "1.0", files=ok, raw_members=[
            RawMember("lib/open", data=b"x", mode=0o1777)]),
        "ships-manifest": PackageSpec(PKG, "1.0", files={**ok, ".mambaboot/env.json": b"{}"}),
        "ships-activate": PackageSpec(PKG, "1.0", files={**ok, "activate.sh": b"echo pwned\n"}),
        "ships-pkgs": PackageSpec(PKG, "1.0", files={**ok, "pkgs/x": b"x"}),
        "ships-conda-meta": PackageSpec(PKG, "1.0", files={**ok, "conda-meta/x.json": b"{}"}),
    }


#: What the cross-package case depends on: a symlink that is harmless alone.
BASE = PackageSpec("evil-base", "1.0", files={"share/base.txt": b"b"}, symlinks={"lib/a": ".."})


CASES = sorted(hostile(Path("/unused")))
#: Members the engine's reader never unpacks (tar-rs skips a name with '..'): nothing of
#: them reaches the disk, so the package installs as its paths.json lists it (see
#: docs/security.md "One reader").
NEVER_UNPACKED = {"member-dotdot"}
#: Cases rattler's channel indexer cannot read: served by swapping the archive in.
UNINDEXABLE = {"index-json-symlink"}


def channel_with(folder: Path, *specs: PackageSpec) -> Path:
    for spec in specs:
        write_package(spec, folder)
    index_channel(folder)
    return folder


def swap_in(folder: Path, spec: PackageSpec) -> None:
    """Put ``spec``'s archive in place of an indexed one, with repodata updated to match.

    For packages the channel indexer itself cannot read (a symlinked index.json):
    a hostile channel serves whatever it likes, with matching hashes.
    """
    path = write_package(spec, folder)
    data = path.read_bytes()
    repodata_path = path.parent / "repodata.json"
    repodata = json.loads(repodata_path.read_text())
    key = "packages.conda" if spec.fmt == "conda" else "packages"
    repodata[key][path.name].update(sha256=hashlib.sha256(data).hexdigest(),
                                    md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
                                    size=len(data))
    repodata_path.write_text(json.dumps(repodata))


@pytest.mark.parametrize("fmt", ["tar.bz2", "conda"])
@pytest.mark.parametrize("case", CASES)
def test_hostile_package_is_refused_and_nothing_escapes(
        sandbox: Sandbox, demo_channel: Path, case: str, fmt: str,
        engine: EngineUnderTest) -> None:
    base = sandbox.base
    (base / "target").mkdir()
    (base / "target" / "file").write_text("sentinel")
    sibling = sandbox.root / "env-evil"
    sibling.mkdir()
    (sibling / "keep").write_text("sentinel")
    evil = dataclasses.replace(hostile(base)[case], fmt=fmt)
    honest = dataclasses.replace(evil, omit_info=(), raw_members=[])
    channel = channel_with(base / "channel", honest if case in UNINDEXABLE else evil,
                           dataclasses.replace(BASE, fmt=fmt))
    if case in UNINDEXABLE:
        swap_in(channel, evil)
    before = tree_state(base, skip=sandbox.root / "env")
    proc = sandbox.run("create", "env", "--no-managers", "-c", str(demo_channel),
                       "-c", str(channel), "--with", PKG, *engine.args,
                       env=engine.env(sandbox.env))
    assert "Traceback" not in proc.stderr
    if case in NEVER_UNPACKED and proc.returncode == 0:
        # the engine's reader skips the member: the package's listed files are all it gets
        env = sandbox.root / "env"
        assert (env / "lib" / "ok.txt").read_bytes() == b"ok\n"
        assert not list(env.rglob("dotdot"))
        sandbox.run("verify", "env", check=True)
        sandbox.run("remove", "env", "--yes", check=True)
    else:
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert PKG in proc.stderr and "Refused the package" in proc.stderr, proc.stderr
    assert not (sandbox.root / "env").exists()
    after = tree_state(base, skip=sandbox.root / "env")
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    ours = (str(sandbox.root / ".cache"), str(sandbox.root / ".mambaboot-locks"))
    outside = sorted(k for k in changed if not k.startswith(ours))
    assert outside == [], f"written outside the prefix and cache: {outside}"
    sandbox.assert_user_dirs_untouched()


@pytest.fixture
def postlink_env(sandbox: Sandbox, demo_channel: Path):
    def create(name: str, *flags: str) -> Path:
        sandbox.run("create", name, "--no-managers", "-c", str(demo_channel),
                    "--with", "demo-postlink", *flags, check=True)
        return sandbox.root / name / "share" / "demo-postlink" / "ran.txt"
    return create


def test_post_link_scripts_run_only_when_allowed(postlink_env) -> None:
    assert not postlink_env("quiet").exists()
    assert postlink_env("loud", "--allow-link-scripts").exists()


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_archive_not_matching_repodata_is_never_linked(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    channel = channel_with(tmp_path / "channel", PackageSpec("hashed", "1.0", files={
        "share/hashed.txt": b"the real bytes\n" * 100}))
    [archive] = (channel).glob("*/hashed-*.tar.bz2")
    good = archive.read_bytes()
    flip_byte(archive)
    args = ("--no-managers", "-c", str(demo_channel), "-c", str(channel), "--with", "hashed")
    proc = sandbox.run("create", "h", *args)
    assert proc.returncode == 1 and "hashed" in proc.stderr
    assert "does not match the channel's repodata" in proc.stderr, proc.stderr
    assert not (sandbox.root / "h").exists()

    # a corrupt copy in the cache (rattler's extracted copy gone) is dropped, never linked
    archive.write_bytes(good)
    sandbox.run("create", "h", *args, check=True)
    pkgs = sandbox.root / ".cache" / "pkgs"
    [cached] = pkgs.glob("hashed-*.tar.bz2")
    for leftover in pkgs.glob("hashed-*"):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        elif leftover != cached:
            leftover.unlink()
    flip_byte(cached)
    # replaced in the same run by a fresh, checked copy from the channel, and said so
    proc = sandbox.run("create", "h2", *args)
    assert proc.returncode == 0, proc.stderr
    assert "cached archive of hashed" in proc.stderr and "never used" in proc.stderr
    assert (sandbox.root / "h2" / "share" / "hashed.txt").read_bytes() == b"the real bytes\n" * 100


def test_an_edit_that_puts_size_and_mtime_back_is_found_by_verify_and_never_linked_again(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    """The fingerprint reads metadata; verify hashes. What verify finds shared with the
    cache is checked again by the next create, which then unpacks it afresh (attack)."""
    cache = tmp_path / "cache"
    args = ("--no-managers", "--with", "demo-tool", "-c", str(demo_channel), "--cache", str(cache))
    sandbox.run("create", "first", *args, check=True)
    tool = sandbox.root / "first" / "bin" / "demo-tool"
    original = tool.read_bytes()
    st = tool.stat()
    tool.write_bytes(original.replace(b"demo-tool", b"EVIL-TOOL"))  # same size, in place
    os.utime(tool, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert tool.stat().st_size == st.st_size
    found = sandbox.run("verify", "first")
    assert found.returncode == 1 and "same file as in the package cache" in found.stdout
    sandbox.run("create", "second", *args, check=True)
    assert (sandbox.root / "second" / "bin" / "demo-tool").read_bytes() == original
    assert sandbox.run("verify", "second").returncode == 0


def test_a_cache_entry_changed_after_vetting_is_unpacked_afresh(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    """Editing an env's file edits the cache through the hard link: new envs never get it."""
    import json

    cache = tmp_path / "cache"
    args = ("--no-managers", "--with", "demo-tool", "-c", str(demo_channel), "--cache", str(cache))
    sandbox.run("create", "first", *args, check=True)
    [folder] = (cache / "pkgs").glob("demo-tool-1.0-*/")
    tool = sandbox.root / "first" / "bin" / "demo-tool"
    assert tool.stat().st_ino == (folder / "bin" / "demo-tool").stat().st_ino
    original = tool.read_bytes()
    with tool.open("ab") as fh:  # an unlucky user edits a file of one environment
        fh.write(b"echo damaged\n")
    before = sandbox.run("verify", "first")  # the cache entry is the same file, and says so
    assert before.returncode == 1 and "same file as in the package cache" in before.stdout
    assert "shared files" in before.stdout and "remove, then create" in before.stdout
    second = sandbox.run("create", "second", *args, check=True)
    # verify dropped the stamp: checked in full before linking, no second linking needed
    assert "linked again" not in second.stderr
    fresh = sandbox.root / "second" / "bin" / "demo-tool"
    assert fresh.read_bytes() == original
    assert fresh.stat().st_ino != tool.stat().st_ino
    assert sandbox.run("verify", "second").returncode == 0
    damaged = sandbox.run("verify", "first")
    assert damaged.returncode == 1 and "bin/demo-tool" in damaged.stdout + damaged.stderr
    # the cache no longer holds that inode: the damage is this environment's alone now
    assert "shared files" not in damaged.stdout

    # a planted escape in the cached tree (and its paths.json) is never linked either
    [folder] = (cache / "pkgs").glob("demo-tool-1.0-*/")
    paths_json = folder / "info" / "paths.json"
    data = json.loads(paths_json.read_text())
    data["paths"].append({"_path": "../../escape.txt", "path_type": "hardlink",
                          "sha256": "0" * 64, "size_in_bytes": 1})
    paths_json.write_text(json.dumps(data))
    (folder / "bin" / "planted").symlink_to("../../../outside")
    sandbox.run("create", "third", *args, check=True)
    assert not (sandbox.root / "third" / "bin" / "planted").exists()
    assert not (sandbox.root.parent / "escape.txt").exists()
    assert sandbox.run("verify", "third").returncode == 0

    # a tree no vet of ours ever saw (no stamp) is hashed against its paths.json once
    [folder] = (cache / "pkgs").glob("demo-tool-1.0-*/")
    for stamp in (cache / "pkgs" / ".mambaboot-vetted").glob("demo-tool-*"):
        stamp.unlink()
    (folder / "bin" / "demo-tool").write_bytes(b"#!/bin/sh\necho foreign\n")
    sandbox.run("create", "fourth", *args, check=True)
    assert (sandbox.root / "fourth" / "bin" / "demo-tool").read_bytes() == original


def _swap_for_outside_symlink(folder: Path, outside: Path) -> None:
    tool = folder / "bin" / "demo-tool"
    outside.write_bytes(tool.read_bytes())
    tool.unlink()
    tool.symlink_to(outside)


def _swap_folder_for_copy(folder: Path, outside: Path) -> None:
    shutil.copytree(folder / "bin", outside, symlinks=True, copy_function=shutil.copy2)
    shutil.rmtree(folder / "bin")
    (folder / "bin").symlink_to(outside)


def _edit_in_place(folder: Path, outside: Path) -> None:
    tool = folder / "bin" / "demo-tool"
    st = tool.stat()
    with tool.open("r+b") as fh:  # same size, through the inode every env shares
        fh.write(b"#!/bin/sh\necho EVIL\n")
    os.utime(tool, ns=(st.st_atime_ns, st.st_mtime_ns + 1))


@pytest.mark.parametrize("change", [_swap_for_outside_symlink, _swap_folder_for_copy,
                                    _edit_in_place])
def test_a_listed_file_changed_after_vetting_is_never_left_linked(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path, change) -> None:
    """The listed files of a cached tree are compared while the engine links (issue 15):
    whatever changed there since the stamp (a file swapped for a symlink out of the cache,
    a folder swapped for a copy, an in-place edit) is unpacked afresh and the environment
    linked again, said in one warning; the finished environment holds the vetted bytes."""
    cache = tmp_path / "cache"
    args = ("--no-managers", "--with", "demo-tool", "-c", str(demo_channel), "--cache", str(cache))
    sandbox.run("create", "first", *args, check=True)
    original = (sandbox.root / "first" / "bin" / "demo-tool").read_bytes()
    [folder] = (cache / "pkgs").glob("demo-tool-1.0-*/")
    change(folder, tmp_path / "outside")
    proc = sandbox.run("create", "second", *args, check=True)
    assert "1 cached package changed since it was checked (demo-tool" in proc.stderr
    assert "linked again" in proc.stderr
    tool = sandbox.root / "second" / "bin" / "demo-tool"
    assert not tool.is_symlink() and tool.read_bytes() == original
    assert not (sandbox.root / "second" / "bin").is_symlink()
    assert not (folder / "bin").is_symlink() and not (folder / "bin" / "demo-tool").is_symlink()
    assert sandbox.run("verify", "second").returncode == 0
    again = sandbox.run("create", "third", *args, check=True)  # the fresh tree is stamped
    assert "changed since" not in again.stderr


@pytest.mark.parametrize("fmt", ["tar.bz2", "conda"])
def test_decompression_bombs_and_member_floods_are_refused_before_unpacking(
        sandbox: Sandbox, demo_channel: Path, fmt: str) -> None:
    bomb = PackageSpec("bomb", "1.0", fmt=fmt,
                       files={"lib/ok.txt": b"ok\n", "share/zeros": bytes(64 << 20)})
    flood = PackageSpec("flood", "1.0", fmt=fmt,
                        files={f"share/f{i}": b"" for i in range(40)})
    channel = channel_with(sandbox.base / "channel", bomb, flood)
    args = ("--no-managers", "-c", str(demo_channel), "-c", str(channel))
    env = {**sandbox.env, "MAMBABOOT_MAX_UNPACKED": "16M"}
    proc = sandbox.run("create", "b", *args, "--with", "bomb", env=env)
    assert proc.returncode == 1, proc.stderr
    assert "bomb-1.0" in proc.stderr and "unpacks to more than 16 MiB" in proc.stderr
    assert "--max-unpacked" in proc.stderr
    assert not (sandbox.root / "b").exists()
    staging = sandbox.root / ".cache" / "pkgs" / ".mambaboot-staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    # the option raises the limit: the same package is then fine
    sandbox.run("create", "b", *args, "--with", "bomb", "--max-unpacked", "128M", check=True)
    proc = sandbox.run("create", "f", *args, "--with", "flood", "--max-members", "20")
    assert proc.returncode == 1 and "more than 20 members" in proc.stderr, proc.stderr
    bad = sandbox.run("create", "f", *args, "--with", "flood", "--max-members", "lots")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_clobbered_files_are_named_and_recorded(sandbox: Sandbox, demo_channel: Path) -> None:
    """A package replacing python's own files is never silent."""
    from mambaboot.devchannel import PYTHON_VERSION

    pyver = ".".join(PYTHON_VERSION.split(".")[:2])
    path = f"lib/python{pyver}/this.py"
    intruder = PackageSpec("intruder", "1.0", depends=["python"], files={
        path: b"print('intruder')\n"})
    channel = channel_with(sandbox.base / "channel", intruder)
    proc = sandbox.run("create", "c", "--no-managers", "-c", str(demo_channel),
                       "-c", str(channel), "--with", "intruder", "--json", check=True)
    # linked, but named: the path and both packages, on stderr and in the JSON
    line = next(x for x in proc.stderr.splitlines() if path in x)
    assert "intruder-1.0" in line and "python-" in line and "warning" in line
    doc = json.loads(proc.stdout)
    result = doc["result"]
    [clobber] = result["clobbers"]
    assert [w for w in doc["warnings"] if path in w] == [line.removeprefix("mambaboot: ")]
    assert clobber["path"] == path and len(clobber["packages"]) == 2
    installed = (sandbox.root / "c" / path).read_bytes()
    assert (installed == b"print('intruder')\n") == clobber["installed"].startswith("intruder")
    manifest = json.loads((sandbox.root / "c" / ".mambaboot" / "env.json").read_text())
    assert manifest["clobbers"] == result["clobbers"]
    verified = sandbox.run("verify", "c")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "clobbers" in verified.stdout and path in verified.stdout
    assert "intruder-1.0" in verified.stdout


def test_a_site_packages_path_that_leaves_the_prefix_is_refused(
        sandbox: Sandbox, demo_channel: Path, engine: EngineUnderTest) -> None:
    """repodata's python_site_packages_path decides where noarch: python files land."""
    base = sandbox.base
    (base / "target").mkdir()
    channel = base / "channel"
    (channel / "linux-64").mkdir(parents=True)
    [python] = demo_channel.glob("linux-64/python-*.tar.bz2")
    shutil.copy(python, channel / "linux-64")
    write_package(PackageSpec("evilnoarch", "1.0", noarch="python", depends=["python"],
                              files={"site-packages/evil_np.py": b"print('pwned')\n"}), channel)
    index_channel(channel)
    repodata_path = channel / "linux-64" / "repodata.json"
    repodata = json.loads(repodata_path.read_text())
    for record in repodata["packages"].values():
        if record["name"] == "python":
            record["python_site_packages_path"] = "../../target/sp"
    repodata_path.write_text(json.dumps(repodata))
    before = tree_state(base, skip=sandbox.root)
    proc = sandbox.run("create", "env", "--no-managers", "--no-pip", "-c", str(channel),
                       "--with", "evilnoarch", *engine.args, env=engine.env(sandbox.env))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "python_site_packages_path" in proc.stderr and "'..'" in proc.stderr
    assert list((base / "target").rglob("*")) == []
    assert tree_state(base, skip=sandbox.root) == before
    assert not (sandbox.root / "env").exists()
