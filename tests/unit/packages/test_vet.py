"""engines/guard: unpack with rattler's reader, check, publish, and re-vet cached trees."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from mambaboot.devchannel import PackageSpec, archive_bytes
from mambaboot.errors import UnsafePackageError
from mambaboot.fsutil import sha256_file
from mambaboot.packages import vet as guard
from mambaboot.packages.fetch import rattler_cached_sha256


def build(folder: Path, name: str = "tool", **kw: object) -> Path:
    kw.setdefault("files", {"lib/tool.txt": b"tool\n"})
    pkg = PackageSpec(name, "1.0", **kw)  # type: ignore[arg-type]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / pkg.filename
    path.write_bytes(archive_bytes(pkg))
    return path


def record(archive: Path, name: str = "tool", version: str = "1.0", *, build: str = "h0_0",
           sha256: bytes | None = None, site: str | None = None) -> SimpleNamespace:
    """The fields of a repodata record that vet reads."""
    digest = bytes.fromhex(sha256_file(archive)) if sha256 is None else sha256
    as_json = json.dumps({"name": name, "version": version, "build": build,
                          "url": archive.as_uri(), "sha256": digest.hex()})
    return SimpleNamespace(name=SimpleNamespace(normalized=name), file_name=archive.name,
                           version=version, build=build, url=archive.as_uri(), sha256=digest,
                           python_site_packages_path=site, to_json=lambda: as_json)


def test_vet_unpacks_checks_and_publishes_into_the_cache(tmp_path: Path) -> None:
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    local, clobbers = guard.vet([record(archive)], pkgs)
    assert clobbers == []
    assert local == {"tool": pkgs / archive.name}
    assert (pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt").read_bytes() == b"tool\n"
    assert rattler_cached_sha256(pkgs, "tool-1.0-h0_0") == sha256_file(archive)
    stamp = json.loads(next((pkgs / guard.STAMP_DIR).iterdir()).read_text())
    assert stamp["checker"] == guard.CHECKER_VERSION
    assert stamp["sha256"] == sha256_file(archive)
    assert list((pkgs / guard.STAGING_DIR).iterdir()) == []
    # a second vet trusts the vetted, unchanged cache entry: nothing is fetched again
    (pkgs / archive.name).unlink()
    assert guard.vet([record(archive)], pkgs, offline=True) == ({}, [])


def test_cached_tree_edited_through_a_hard_link_is_unpacked_afresh(tmp_path: Path) -> None:
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    guard.vet([record(archive)], pkgs)
    cached = pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt"
    env_file = tmp_path / "env-tool.txt"
    env_file.hardlink_to(cached)
    with env_file.open("a") as fh:
        fh.write("poison\n")
    local, _ = guard.vet([record(archive)], pkgs)
    assert local == {"tool": pkgs / archive.name}  # refetched, not trusted
    assert cached.read_bytes() == b"tool\n"
    assert env_file.read_bytes() == b"tool\npoison\n"  # the env keeps its own (damaged) link


def test_cached_tree_made_unsafe_is_unpacked_afresh(tmp_path: Path) -> None:
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    guard.vet([record(archive)], pkgs)
    listed = pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt"
    listed.unlink()
    listed.symlink_to("../../../outside")
    local, _ = guard.vet([record(archive)], pkgs)
    assert local == {"tool": pkgs / archive.name}
    assert not listed.is_symlink()


def test_cached_tree_with_a_listed_folder_swapped_for_a_symlink_is_unpacked_afresh(
        tmp_path: Path) -> None:
    """Every file's lstat looks the same through the symlinked folder (a copy with its
    times kept): the folder's own lstat is what tells."""
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    guard.vet([record(archive)], pkgs)
    lib = pkgs / "tool-1.0-h0_0" / "lib"
    shutil.copytree(lib, tmp_path / "elsewhere", symlinks=True, copy_function=shutil.copy2)
    shutil.rmtree(lib)
    lib.symlink_to(tmp_path / "elsewhere")
    local, _ = guard.vet([record(archive)], pkgs)
    assert local == {"tool": pkgs / archive.name}
    assert lib.is_dir() and not lib.is_symlink()


def test_file_added_to_a_cached_tree_is_not_linked_so_not_looked_for(tmp_path: Path) -> None:
    """The engine links what paths.json lists: an extra file in the cached tree never
    reaches an environment, and the warm check stays one lstat per listed path."""
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    guard.vet([record(archive)], pkgs)
    (pkgs / "tool-1.0-h0_0" / "lib" / "extra").symlink_to("../../../outside")
    assert guard.vet([record(archive)], pkgs) == ({}, [])  # the vetted tree is reused


def test_file_added_to_a_cached_info_folder_is_noticed(tmp_path: Path) -> None:
    """info/ is read by the engine (link.json, has_prefix ...): anything new there counts."""
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    guard.vet([record(archive)], pkgs)
    (pkgs / "tool-1.0-h0_0" / "info" / "has_prefix").write_text("/old lib/tool.txt\n")
    local, _ = guard.vet([record(archive)], pkgs)
    assert local == {"tool": pkgs / archive.name}
    assert not (pkgs / "tool-1.0-h0_0" / "info" / "has_prefix").exists()


def test_tree_never_vetted_is_hashed_against_paths_json(tmp_path: Path) -> None:
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    guard.vet([record(archive)], pkgs)
    for stamp in (pkgs / guard.STAMP_DIR).iterdir():
        stamp.unlink()
    assert guard.vet([record(archive)], pkgs, offline=True) == ({}, [])  # hashes match
    assert len(list((pkgs / guard.STAMP_DIR).iterdir())) == 1  # and it is now vetted
    for stamp in (pkgs / guard.STAMP_DIR).iterdir():
        stamp.unlink()
    (pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt").write_bytes(b"tampered\n")
    local, _ = guard.vet([record(archive)], pkgs)
    assert local == {"tool": pkgs / archive.name}
    assert (pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt").read_bytes() == b"tool\n"


def test_stamp_of_another_checker_version_is_not_trusted(tmp_path: Path) -> None:
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    guard.vet([record(archive)], pkgs)
    stamp = next((pkgs / guard.STAMP_DIR).iterdir())
    data = json.loads(stamp.read_text())
    stamp.write_text(json.dumps({**data, "checker": guard.CHECKER_VERSION - 1,
                                 "fingerprint": "0" * 64}))
    (pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt").write_bytes(b"tampered\n")
    local, _ = guard.vet([record(archive)], pkgs)
    assert local == {"tool": pkgs / archive.name}
    assert json.loads(stamp.read_text())["checker"] == guard.CHECKER_VERSION


def test_foreign_tree_in_the_cache_is_replaced(tmp_path: Path) -> None:
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    foreign = pkgs / "tool-1.0-h0_0"
    (foreign / "info").mkdir(parents=True)
    (foreign / "stale").write_text("x")
    guard.vet([record(archive)], pkgs, known={"tool": archive})
    assert not (foreign / "stale").exists()
    assert (foreign / "lib" / "tool.txt").is_file()
    left = {p.name for p in pkgs.iterdir()}
    assert {guard.STAGING_DIR, guard.STAMP_DIR, "tool-1.0-h0_0", "tool-1.0-h0_0.lock"} <= left
    assert not any(name.endswith(".old") for name in left)


@pytest.mark.parametrize(("field", "value", "word"), [
    ("name", "../x", "name"), ("version", "1/0", "version"), ("build", "", "build")])
def test_record_names_that_become_cache_paths(tmp_path: Path, field: str, value: str,
                                              word: str) -> None:
    archive = build(tmp_path / "channel")
    rec = record(archive)
    if field == "name":
        rec.name = SimpleNamespace(normalized=value)
    else:
        setattr(rec, field, value)
    with pytest.raises(UnsafePackageError, match=f"Refused the package {archive.name}: its {word}"):
        guard.vet([rec], tmp_path / "pkgs")
    assert not (tmp_path / "pkgs" / "tool-1.0-h0_0").exists()


def test_record_file_name_and_sha256(tmp_path: Path) -> None:
    archive = build(tmp_path / "channel")
    odd = archive.with_name("tool-1.0-h0_0.zip")
    archive.rename(odd)
    with pytest.raises(UnsafePackageError, match=r"tool-1\.0-h0_0\.zip: its file name does not "
                                                 r"end in \.conda or \.tar\.bz2"):
        guard.vet([record(odd)], tmp_path / "pkgs")
    archive = build(tmp_path / "channel")
    with pytest.raises(UnsafePackageError, match="repodata gives no sha256"):
        guard.vet([record(archive, sha256=b"")], tmp_path / "pkgs")
    weird = archive.with_name("tool-1.0-h0\n0.tar.bz2")
    archive.rename(weird)
    with pytest.raises(UnsafePackageError, match=r"'tool-1\.0-h0\\n0\.tar\.bz2'"):
        guard.vet([record(weird)], tmp_path / "pkgs")


def test_unpacked_bytes_must_be_the_checked_ones(tmp_path: Path) -> None:
    archive = build(tmp_path / "channel")
    rec = record(archive, sha256=b"\1" * 32)
    with pytest.raises(UnsafePackageError, match=r"tool-1\.0-h0_0\.tar\.bz2: the bytes unpacked "
                                                 "are not the ones whose sha256 was checked"):
        guard.vet([rec], tmp_path / "pkgs", known={"tool": archive})
    assert not (tmp_path / "pkgs" / "tool-1.0-h0_0").exists()
    assert list((tmp_path / "pkgs" / guard.STAGING_DIR).iterdir()) == []


def test_noarch_python_placed_for_the_transactions_python(tmp_path: Path) -> None:
    channel = tmp_path / "channel"
    python = build(channel, "python", files={"lib/python3.11/site-packages/d/x.py": b""},
                   symlinks={"lib/python3.11/site-packages/e": "../../.."})
    pure = build(channel, "pure", noarch="python", files={"site-packages/e/x.py": b""})
    records = [record(python, "python", version="3.11.7"), record(pure, "pure")]
    with pytest.raises(UnsafePackageError, match="pure"):
        guard.vet(records, tmp_path / "pkgs")
    other = [record(python, "python", version="3.12.1"), record(pure, "pure")]
    guard.vet(other, tmp_path / "pkgs2")  # site-packages lands in python3.12: no link there
    sited = [record(python, "python", version="3.12.1", site="lib/python3.11/site-packages"),
             record(pure, "pure")]
    with pytest.raises(UnsafePackageError, match="pure"):
        guard.vet(sited, tmp_path / "pkgs3")


def test_clobbers_are_returned(tmp_path: Path) -> None:
    channel = tmp_path / "channel"
    one = build(channel, "one", files={"bin/same": b"1"})
    two = build(channel, "two", files={"bin/same": b"2"})
    _, clobbers = guard.vet([record(one, "one"), record(two, "two")], tmp_path / "pkgs")
    assert [(c.path, c.packages) for c in clobbers] == [
        ("bin/same", ("one-1.0-h0_0.tar.bz2", "two-1.0-h0_0.tar.bz2"))]


def test_staging_of_dead_workers_is_swept(tmp_path: Path) -> None:
    import os

    # above the kernel's pid_max: no process can have it
    dead = str(int(Path("/proc/sys/kernel/pid_max").read_text()) + 1)
    staging = tmp_path / "pkgs" / guard.STAGING_DIR
    for owner in (dead, str(os.getpid()), "1", "notapid"):
        (staging / f"{owner}-abc-tool").mkdir(parents=True)
    guard.vet([], tmp_path / "pkgs")
    left = {p.name.split("-")[0] for p in staging.iterdir()}
    assert left == {"1", "notapid", str(os.getpid())}


def test_vet_passes_its_limits_to_the_archive_check(tmp_path: Path) -> None:
    from mambaboot.packages.limits import Limits

    archive = build(tmp_path / "channel")
    with pytest.raises(UnsafePackageError) as info:
        guard.vet([record(archive)], tmp_path / "pkgs", limits=Limits(max_members=1))
    assert info.value.message == (
        f"Refused the package {archive.name}: it has more than 1 members; if the package is "
        "genuine, raise the limit with --max-members; nothing was installed from it, remove it "
        "from the channel or pin another build.")
    assert not (tmp_path / "pkgs" / "tool-1.0-h0_0").exists()


def test_vet_known_fetched_and_cached_packages_together(tmp_path: Path) -> None:
    channel = tmp_path / "channel"
    one = build(channel, "one", files={"bin/same": b"1"})
    two = build(channel, "two", files={"bin/same": b"2"})
    three = build(channel, "three", files={"lib/three": b"3"})
    records = [record(one, "one"), record(two, "two"), record(three, "three")]
    pkgs = tmp_path / "pkgs"
    events: list[tuple[str, dict[str, object]]] = []
    local, clobbers = guard.vet(records, pkgs, known={"one": one, "two": two},
                                progress=lambda kind, data: events.append((kind, data)))
    assert local == {"one": one, "two": two, "three": pkgs / three.name}
    assert [c.packages for c in clobbers] == [(one.name, two.name)]
    checked = [data["name"] for kind, data in events if kind == "checked"]
    assert sorted(checked) == ["one", "three", "two"]
    assert ("fetched", {"name": "three"}) in events  # the download's own events reach us
    urls = (pkgs / "urls.txt").read_text().split()
    assert {one.as_uri(), two.as_uri(), three.as_uri()} <= set(urls)
    # all three are cached and vetted now: nothing is fetched, every one is still checked
    (pkgs / three.name).unlink()
    events.clear()
    local, clobbers = guard.vet(records, pkgs, offline=True,
                                progress=lambda kind, data: events.append((kind, data)))
    assert local == {}
    assert [c.packages for c in clobbers] == [(one.name, two.name)]
    assert events == [("checked", {"name": "one"}), ("checked", {"name": "two"}),
                      ("checked", {"name": "three"})]


def test_vet_offline_and_hash_mismatch_when_fetching(tmp_path: Path) -> None:
    from mambaboot.errors import MambabootError

    archive = build(tmp_path / "channel")
    remote = record(archive)
    remote.url = "https://conda.example/ch/noarch/" + archive.name
    with pytest.raises(MambabootError, match="--offline, but 1 package"):
        guard.vet([remote], tmp_path / "pkgs", offline=True)
    # a local directory (file://) channel needs no network: --offline uses it
    local, _clobbers = guard.vet([record(archive)], tmp_path / "pkgs-local", offline=True)
    assert local == {"tool": tmp_path / "pkgs-local" / archive.name}
    with pytest.raises(MambabootError, match="does not match the channel's repodata"):
        guard.vet([record(archive, sha256=b"\1" * 32)], tmp_path / "pkgs2")


def test_edited_cache_entry_without_its_archive_is_fetched_again(tmp_path: Path) -> None:
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    guard.vet([record(archive)], pkgs)
    (pkgs / archive.name).unlink()  # rattler's cache keeps only the tree
    (pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt").write_bytes(b"tampered\n")
    local, _ = guard.vet([record(archive)], pkgs)
    assert local == {"tool": pkgs / archive.name}
    assert (pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt").read_bytes() == b"tool\n"


def test_conda_format_records_are_vetted(tmp_path: Path) -> None:
    archive = build(tmp_path / "channel", fmt="conda")
    assert archive.name == "tool-1.0-h0_0.conda"
    local, _ = guard.vet([record(archive)], tmp_path / "pkgs")
    assert local == {"tool": tmp_path / "pkgs" / archive.name}
    assert (tmp_path / "pkgs" / "tool-1.0-h0_0" / "lib" / "tool.txt").is_file()


def test_record_refusal_messages(tmp_path: Path) -> None:
    suffix = "; nothing was installed from it, remove it from the channel or pin another build."
    archive = build(tmp_path / "channel")
    with pytest.raises(UnsafePackageError) as info:
        guard.vet([record(archive, sha256=b"")], tmp_path / "pkgs")
    assert info.value.message == (
        f"Refused the package {archive.name}: the channel's repodata gives no sha256 for it, so "
        f"its bytes cannot be verified{suffix}")
    weird = archive.with_name("tool-1.0-h0\n0.tar.bz2")
    archive.rename(weird)
    with pytest.raises(UnsafePackageError) as info:
        guard.vet([record(weird)], tmp_path / "pkgs")
    assert info.value.message == (
        "Refused the package 'tool-1.0-h0\\n0.tar.bz2': its file name 'tool-1.0-h0\\n0.tar.bz2' "
        f"contains '/', '\\', '..' or a control character (or is empty){suffix}")


def test_archive_the_engine_cannot_unpack_is_refused(tmp_path: Path) -> None:
    from mambaboot.devchannel import RawMember

    # Python's tar reader does not look for a hard link's target; rattler's fails on it
    archive = build(tmp_path / "channel", raw_members=[
        RawMember("lib/h", kind="hardlink", linkname="lib/missing")])
    with pytest.raises(UnsafePackageError) as info:
        guard.vet([record(archive)], tmp_path / "pkgs")
    assert info.value.message.startswith(
        f"Refused the package {archive.name}: the engine could not unpack it (")
    assert "lib/h" in info.value.message
    assert not (tmp_path / "pkgs" / "tool-1.0-h0_0").exists()
    assert list((tmp_path / "pkgs" / guard.STAGING_DIR).iterdir()) == []


def test_info_files_package_is_guarded_by_its_stamp(tmp_path: Path) -> None:
    """No paths.json, so no hashes to compare: only the stamp's fingerprint sees an edit."""
    archive = build(tmp_path / "channel", omit_info=("info/paths.json",))
    pkgs = tmp_path / "pkgs"
    guard.vet([record(archive)], pkgs)
    (pkgs / archive.name).unlink()
    cached = pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt"
    assert guard.vet([record(archive)], pkgs, offline=True) == ({}, [])  # the stamp matches
    for stamp in (pkgs / guard.STAMP_DIR).iterdir():  # never vetted by us: trusted, then stamped
        stamp.unlink()
    assert guard.vet([record(archive)], pkgs, offline=True) == ({}, [])
    assert len(list((pkgs / guard.STAMP_DIR).iterdir())) == 1
    env_file = tmp_path / "env-tool.txt"
    env_file.hardlink_to(cached)
    with env_file.open("a") as fh:
        fh.write("poison\n")
    local, _ = guard.vet([record(archive)], pkgs)
    assert local == {"tool": pkgs / archive.name}  # the stamp saw the edit
    assert cached.read_bytes() == b"tool\n"


def test_never_vetted_tree_hashes_only_hardlinked_files_with_a_sha256(tmp_path: Path) -> None:
    archive = build(tmp_path / "channel", symlinks={"lib/a-link": "tool.txt"},
                    files={"lib/tool.txt": b"tool\n", "lib/z.txt": b"z\n"})
    pkgs = tmp_path / "pkgs"
    guard.vet([record(archive)], pkgs)
    tree = pkgs / "tool-1.0-h0_0"

    def never_vetted(paths: list[dict[str, object]]) -> None:
        for stamp in (pkgs / guard.STAMP_DIR).iterdir():
            stamp.unlink()
        (tree / "info" / "paths.json").write_text(json.dumps({"paths": paths,
                                                              "paths_version": 1}))

    digest = sha256_file(tree / "lib" / "tool.txt")
    never_vetted([
        {"_path": "lib/a-link", "path_type": "softlink", "sha256": "0" * 64},  # not hashed
        {"_path": "lib/tool.txt", "sha256": digest},  # path_type defaults to hardlink
        {"_path": "lib/z.txt", "path_type": "hardlink"},  # no sha256: nothing to compare
    ])
    assert guard.vet([record(archive)], pkgs) == ({}, [])
    never_vetted([{"_path": "lib/a-link", "path_type": "softlink"},
                  {"_path": "lib/tool.txt", "sha256": digest}])
    (tree / "lib" / "tool.txt").write_bytes(b"tampered\n")
    local, _ = guard.vet([record(archive)], pkgs)
    assert local == {"tool": pkgs / archive.name}
    assert (tree / "lib" / "tool.txt").read_bytes() == b"tool\n"
    never_vetted([{"_path": "lib/tool.txt", "sha256": digest}])
    (tree / "lib" / "tool.txt").unlink()  # a listed file that is gone
    local, _ = guard.vet([record(archive)], pkgs)
    assert local == {"tool": pkgs / archive.name}
    assert (tree / "lib" / "tool.txt").read_bytes() == b"tool\n"


def test_sweep_leaves_live_workers_alone_and_survives_odd_entries(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    dead = str(int(Path("/proc/sys/kernel/pid_max").read_text()) + 1)
    staging = tmp_path / "pkgs" / guard.STAGING_DIR
    staging.mkdir(parents=True)
    (staging / f"{dead}-a-file").write_text("not a folder")  # a dead worker's: swept too
    # SIGHUP back to its default (a runner under nohup ignores it): a stray signal would show
    child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal("
                              "signal.SIGHUP, signal.SIG_DFL); print(flush=True); time.sleep(30)"],
                             stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        child.stdout.readline()  # its handler is set
        (staging / f"{child.pid}-abc-tool").mkdir()
        guard.vet([], tmp_path / "pkgs")
        with pytest.raises(subprocess.TimeoutExpired):  # probed, never signalled
            child.wait(timeout=0.5)
        assert (staging / f"{child.pid}-abc-tool").is_dir()
    finally:
        child.kill()
        child.communicate()
    assert not os.path.exists(staging / f"{dead}-a-file")


def test_a_staging_tree_thousands_of_levels_deep_is_swept(tmp_path: Path) -> None:
    """shutil.rmtree recurses per level; a hostile archive nested 2000 deep once left a
    staging folder that broke every later create's sweep (RecursionError)."""
    from mambaboot.fsutil import discard_tree

    dead = str(int(Path("/proc/sys/kernel/pid_max").read_text()) + 1)
    staging = tmp_path / "pkgs" / guard.STAGING_DIR
    deep = staging / f"{dead}-abc-evil"
    deep.mkdir(parents=True)
    folder = str(deep)
    for _ in range(1500):  # deeper than Python's recursion limit, under PATH_MAX
        folder = os.path.join(folder, "d")
        os.mkdir(folder)
    (Path(folder) / "f").write_text("x")
    guard.vet([], tmp_path / "pkgs")
    assert list(staging.iterdir()) == []
    discard_tree(tmp_path / "nothing here")  # a missing path is no error


def test_cache_entry_that_is_a_symlink_is_replaced(tmp_path: Path) -> None:
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "info").mkdir(parents=True)
    pkgs.mkdir()
    (pkgs / "tool-1.0-h0_0").symlink_to(elsewhere)
    guard.vet([record(archive)], pkgs, known={"tool": archive})
    assert not (pkgs / "tool-1.0-h0_0").is_symlink()
    assert (pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt").is_file()
    assert (elsewhere / "info").is_dir()  # the link's target is not touched


def test_foreign_tree_moved_aside_is_removed(tmp_path: Path) -> None:
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    (pkgs / "tool-1.0-h0_0" / "info").mkdir(parents=True)
    guard.vet([record(archive)], pkgs, known={"tool": archive})
    assert list((pkgs / guard.STAGING_DIR).iterdir()) == []


def test_stamp_that_cannot_be_written_is_not_an_error(tmp_path: Path) -> None:
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    pkgs.mkdir()
    (pkgs / guard.STAMP_DIR).write_text("a file where the folder should be")
    local, _ = guard.vet([record(archive)], pkgs)
    assert local == {"tool": pkgs / archive.name}


def test_a_tree_another_create_published_first_is_kept_not_replaced(tmp_path: Path) -> None:
    """Two creates unpack the same package into one cold cache at once: the second to
    publish keeps the first one's tree, which that create may be linking from."""
    from rattler.package_streaming import extract

    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    guard.vet([record(archive)], pkgs)
    theirs = pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt"
    inode = theirs.stat().st_ino
    want = guard._wanted(record(archive))
    ours = tmp_path / "staging-ours"
    extract(archive, ours)
    contents = guard.check_extracted(ours, want.file_name)
    guard._publish(ours, pkgs, want, contents)
    assert theirs.stat().st_ino == inode  # still the first tree, files and all
    # a tree that is no longer the vetted one is replaced by the checked staging copy
    theirs.write_bytes(b"TOOL\n")
    extract(archive, ours)
    guard._publish(ours, pkgs, want, guard.check_extracted(ours, want.file_name))
    assert theirs.read_bytes() == b"tool\n"
    assert guard._check_cached(pkgs, want) is not None


def test_with_link_scripts_the_whole_tree_is_compared_before_linking(tmp_path: Path) -> None:
    """Link scripts run while the engine links: an edited one must never reach that point
    (attack: an edited post-link script ran before the comparison acted)."""
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    guard.vet([record(archive)], pkgs)
    listed = pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt"
    st = listed.stat()
    listed.write_bytes(b"TOOL\n")
    os.utime(listed, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    pending = guard.Pending(whole_before=True)
    local, _ = guard.vet([record(archive)], pkgs, pending=pending)
    assert local == {"tool": pkgs / archive.name}  # unpacked afresh before linking
    assert listed.read_bytes() == b"tool\n"
    assert guard.Watch(pending).finish() == set()


def test_pending_splits_the_warm_check_at_what_decides_where_files_go(tmp_path: Path) -> None:
    """With ``pending`` (the rattler worker), info/ is compared before linking and the whole
    tree again by ``Watch`` once the engine linked it (issue 15)."""
    archive = build(tmp_path / "channel", symlinks={"lib/alias": "tool.txt"})
    pkgs = tmp_path / "pkgs"
    guard.vet([record(archive)], pkgs)
    pending = guard.Pending()
    assert guard.vet([record(archive)], pkgs, pending=pending) == ({}, [])
    assert [name for name, _folder, _stamp in pending.trees] == ["tool"]
    assert pending.links == {"lib/alias": "tool.txt"}  # where it lands in the prefix
    assert guard.Watch(pending).finish() == set()
    listed = pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt"
    st = listed.stat()
    listed.write_bytes(b"TOOL\n")  # same size, in place: only the fingerprint sees it
    os.utime(listed, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    watch = guard.Watch(pending)
    watch.linked("tool")  # as the engine reports it linked
    watch.linked("not-vetted-here")
    assert watch.finish() == {"tool"}
    # info/ is never left for later: a change there is unpacked afresh before linking,
    # and the fresh tree is watched while linking too (the engine must link exactly it)
    again = guard.Pending()
    (pkgs / "tool-1.0-h0_0" / "info" / "has_prefix").write_text("/old lib/tool.txt\n")
    local, _ = guard.vet([record(archive)], pkgs, pending=again)
    assert local == {"tool": pkgs / archive.name}
    assert [name for name, _folder, _stamp in again.trees] == ["tool"]
    assert listed.read_bytes() == b"tool\n" and guard.Watch(again).finish() == set()
    shutil.rmtree(pkgs / "tool-1.0-h0_0")  # the engine unpacking it again: other inodes
    guard.vet([record(archive)], pkgs)
    assert guard.Watch(again).finish() == {"tool"}


def test_a_tree_marked_damaged_is_unpacked_afresh_once_and_the_mark_removed(
        tmp_path: Path) -> None:
    """forget_vetted marks a tree: the next vet unpacks it from the verified archive (never
    hashes it against its own, maybe damaged, paths.json), even beside a stamp that still
    matches, and drops the mark, so the create after that reuses it (attack: a mark left
    beside a stamp made every create unpack again)."""
    archive = build(tmp_path / "channel")
    pkgs = tmp_path / "pkgs"
    guard.vet([record(archive)], pkgs)
    stamp = next((pkgs / guard.STAMP_DIR).glob("tool-*.json")).read_text()
    guard.forget_vetted(pkgs / "tool-1.0-h0_0")
    marker = pkgs / guard.STAMP_DIR / "tool-1.0-h0_0.afresh"
    assert marker.exists() and not list((pkgs / guard.STAMP_DIR).glob("tool-*.json"))
    (pkgs / guard.STAMP_DIR / f"tool-1.0-h0_0-{sha256_file(archive)[:16]}.json").write_text(stamp)
    inode = (pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt").stat().st_ino
    local, _ = guard.vet([record(archive)], pkgs)
    assert local == {"tool": pkgs / archive.name} and not marker.exists()
    assert (pkgs / "tool-1.0-h0_0" / "lib" / "tool.txt").stat().st_ino != inode
    assert guard.vet([record(archive)], pkgs) == ({}, [])
