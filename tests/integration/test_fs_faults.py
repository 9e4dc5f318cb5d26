"""Filesystem faults through the real CLI (issue 11): a sentence, never "Unexpected error".

Every case checks the exit code (1 failed operation, 2 bad input), that the
one line on stderr names the path and the fix, and that nothing new was left
in the root. Read-only cases use a read-only bind mount inside ``unshare -rm``
(the tests run as root, which ignores permission bits) or ``chattr +i``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fstools import unshare_works
from tests.support.sandbox import Sandbox, snapshot

NO_MANAGERS = ("--no-managers",)


def refused(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """The single line on stderr, after checking the exit code and what it names."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert proc.returncode == code, (proc.returncode, line)
    assert "Unexpected error" not in line and "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def create(sandbox: Sandbox, channel: Path, *extra: str, name: str = "env",
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return sandbox.run("create", name, *NO_MANAGERS, "-c", str(channel), *extra, env=env)


needs_unshare = pytest.mark.skipif(
    not unshare_works(), reason="needs Linux with 'unshare -rm' and mount rights "
                                 "(user namespaces) for a read-only bind mount")


def run_read_only(sandbox: Sandbox, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``mambaboot ARGS`` with ``folder`` bind-mounted read-only (in a private mount namespace)."""
    script = ('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"')
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", str(folder), sys.executable, "-m",
         "mambaboot", *args], env=sandbox.env, cwd=sandbox.base, capture_output=True,
        text=True, timeout=300, check=False)


# ---- the root ---------------------------------------------------------------------------

def test_a_root_that_is_a_file(sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    root = tmp_path / "rootfile"
    root.write_text("not a folder")
    for args in (("create", "env", *NO_MANAGERS, "-c", str(demo_channel)), ("list",),
                 ("verify", "env"), ("remove", "env", "--yes"), ("lock", "env"),
                 ("bundle", "env", str(tmp_path / "out"))):
        proc = sandbox.run(*args, "--root", str(root))
        refused(proc, 2, f"The environments root {root} is a file", "--root")
    assert root.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rootfile"]


def test_a_missing_root_is_named_for_commands_that_read(sandbox: Sandbox,
                                                        tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    for args in (("list",), ("list", "--json"), ("verify", "env"), ("remove", "env", "--yes"),
                 ("lock", "env"), ("bundle", "env", str(tmp_path / "out"))):
        proc = sandbox.run(*args, "--root", str(missing))
        refused(proc, 2, f"The environments root {missing} does not exist", "--root")
    assert not missing.exists() and not (tmp_path / "out").exists()


def test_list_json_reports_a_missing_root_as_an_error(sandbox: Sandbox, tmp_path: Path) -> None:
    import json

    proc = sandbox.run("list", "--json", "--root", str(tmp_path / "missing"))
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["exit_code"] == 2
    assert "does not exist" in doc["error"]["message"]


@pytest.mark.parametrize("option", ["--root", "--cache"])
@pytest.mark.parametrize("command", ["create", "list"])
def test_an_empty_root_or_cache_is_bad_input(sandbox: Sandbox, demo_channel: Path,
                                             option: str, command: str) -> None:
    args = ("create", "env", *NO_MANAGERS, "-c", str(demo_channel)) if command == "create" \
        else ("list",)
    before = snapshot(sandbox.base)
    proc = sandbox.run(*args, option, "")
    refused(proc, 2, f"{option} is empty")
    assert snapshot(sandbox.base) == before


@needs_unshare
def test_a_read_only_root(sandbox: Sandbox, demo_channel: Path) -> None:
    proc = run_read_only(sandbox, sandbox.root, "create", "env", *NO_MANAGERS,
                         "-c", str(demo_channel))
    refused(proc, 1, f"The environments root {sandbox.root} is on a read-only file system",
            "--root")
    assert list(sandbox.root.iterdir()) == []


def _chattr_works(tmp: Path) -> bool:
    probe = tmp / "chattr-probe"
    probe.mkdir()
    try:
        return shutil.which("chattr") is not None and subprocess.run(
            ["chattr", "+i", str(probe)], capture_output=True, check=False).returncode == 0
    finally:
        subprocess.run(["chattr", "-i", str(probe)], capture_output=True, check=False)
        probe.rmdir()


def test_an_immutable_root(sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    """Not writable though it is a normal folder (what a non-owner sees; root ignores modes)."""
    if not _chattr_works(tmp_path):
        pytest.skip("chattr +i is not supported on this file system")
    subprocess.run(["chattr", "+i", str(sandbox.root)], check=True)
    try:
        proc = create(sandbox, demo_channel)
        listed = sandbox.run("list")
    finally:
        subprocess.run(["chattr", "-i", str(sandbox.root)], check=True)
    refused(proc, 1, f"The environments root {sandbox.root} is not writable", "--root")
    assert listed.returncode == 0  # reading a read-only root is fine
    assert list(sandbox.root.iterdir()) == []


# ---- the cache ----------------------------------------------------------------------------

def test_a_cache_that_is_a_file(sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cachefile"
    cache.write_text("")
    proc = create(sandbox, demo_channel, "--cache", str(cache))
    refused(proc, 2, f"The cache {cache} is a file", "--cache")
    assert list(sandbox.root.iterdir()) == []


def test_a_cache_pkgs_that_is_a_file(sandbox: Sandbox, demo_channel: Path,
                                     tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "pkgs").write_text("")
    proc = create(sandbox, demo_channel, "--cache", str(cache))
    refused(proc, 2, f"The package cache {cache / 'pkgs'} is a file", "--cache")
    assert list(sandbox.root.iterdir()) == []
    assert sorted(p.name for p in cache.iterdir()) == ["pkgs"]


def test_a_cache_under_a_file(sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    cache = tmp_path / "file" / "cache"
    proc = create(sandbox, demo_channel, "--cache", str(cache))
    refused(proc, 2, str(tmp_path / "file"), "is a file", "--cache")
    assert list(sandbox.root.iterdir()) == []


@needs_unshare
def test_a_read_only_new_cache(sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    proc = run_read_only(sandbox, parent, "create", "env", *NO_MANAGERS, "-c", str(demo_channel),
                         "--cache", str(parent / "cache"))
    refused(proc, 1, f"The cache {parent / 'cache'} is on a read-only file system", "--cache")
    assert list(sandbox.root.iterdir()) == [] and list(parent.iterdir()) == []


@needs_unshare
def test_a_read_only_populated_cache_offline(sandbox: Sandbox, demo_channel: Path,
                                             tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    create(sandbox, demo_channel, "--cache", str(cache), name="first")
    sandbox.run("remove", "first", "--yes", check=True)
    assert any((cache / "pkgs").iterdir())
    proc = run_read_only(sandbox, cache, "create", "env", *NO_MANAGERS, "-c", str(demo_channel),
                         "--cache", str(cache), "--offline")
    line = refused(proc, 1, f"The cache {cache} is on a read-only file system", "--cache")
    assert "retry" not in line
    assert list(sandbox.root.iterdir()) == []


def test_a_read_only_cache_for_bundle_that_must_fetch(sandbox: Sandbox, demo_channel: Path,
                                                      tmp_path: Path) -> None:
    """bundle with a --cache that is a file: named, nothing written."""
    create(sandbox, demo_channel)
    (tmp_path / "cachefile").write_text("")
    proc = sandbox.run("bundle", "env", str(tmp_path / "out"), "--cache",
                       str(tmp_path / "cachefile"))
    refused(proc, 2, "is a file", "--cache")
    assert not (tmp_path / "out").exists()


# ---- root and cache overlapping -------------------------------------------------------------

@pytest.mark.parametrize("where", ["equal", "root-inside-cache", "cache-in-a-visible-folder",
                                   "variable"])
def test_overlapping_root_and_cache_are_refused(sandbox: Sandbox, demo_channel: Path,
                                                where: str) -> None:
    root = sandbox.root
    env = None
    if where == "equal":
        extra: tuple[str, ...] = ("--cache", str(root))
    elif where == "root-inside-cache":
        extra = ("--cache", str(root.parent))
    elif where == "cache-in-a-visible-folder":
        extra = ("--cache", str(root / "cache"))
    else:
        extra, env = (), {**sandbox.env, "MAMBABOOT_CACHE": str(root)}
    before = snapshot(sandbox.base)
    proc = create(sandbox, demo_channel, *extra, name="repodata", env=env)
    refused(proc, 2, str(root), "--root" if where != "cache-in-a-visible-folder" else "outside")
    assert snapshot(sandbox.base) == before


# ---- a failed create leaves the root as it found it -------------------------------------------

@pytest.mark.parametrize("fault", ["bad-spec", "unreachable", "missing-channel", "exists"])
def test_a_failed_create_leaves_nothing_new_in_the_root(sandbox: Sandbox, demo_channel: Path,
                                                        tmp_path: Path, fault: str) -> None:
    if fault == "exists":
        (sandbox.root / "env").mkdir()
        (sandbox.root / "env" / "mine.txt").write_text("keep")
    before = snapshot(sandbox.root)
    channel = {"unreachable": "http://127.0.0.1:9/nothing",
               "missing-channel": str(tmp_path / "no-channel")}.get(fault, str(demo_channel))
    extra = ("--with", "no-such-package") if fault == "bad-spec" else ()
    proc = sandbox.run("create", "env", *NO_MANAGERS, "-c", channel, *extra)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert snapshot(sandbox.root) == before


def test_a_failed_create_in_a_new_root_does_not_leave_the_root(sandbox: Sandbox,
                                                               demo_channel: Path,
                                                               tmp_path: Path) -> None:
    root = tmp_path / "new" / "root"
    proc = sandbox.run("create", "env", *NO_MANAGERS, "-c", str(demo_channel), "--with",
                       "no-such-package", "--root", str(root))
    assert proc.returncode == 1
    assert not (tmp_path / "new").exists()


def test_lock_files_do_not_pile_up(sandbox: Sandbox, demo_channel: Path) -> None:
    create(sandbox, demo_channel, name="a")
    assert sorted(p.name for p in sandbox.root.iterdir()) == [".cache", "a"]
    sandbox.run("verify", "a", check=True)
    sandbox.run("remove", "a", "--yes", check=True)
    assert sorted(p.name for p in sandbox.root.iterdir()) == [".cache"]


def test_a_failed_create_keeps_a_cache_that_existed(sandbox: Sandbox, demo_channel: Path) -> None:
    create(sandbox, demo_channel, name="a")
    cached = snapshot(sandbox.root / ".cache")
    proc = create(sandbox, demo_channel, "--with", "no-such-package", name="b")
    assert proc.returncode == 1
    assert sorted(p.name for p in sandbox.root.iterdir()) == [".cache", "a"]
    assert snapshot(sandbox.root / ".cache") >= cached


# ---- CONDA_PKGS_DIRS ------------------------------------------------------------------------

def test_conda_pkgs_dirs_with_several_entries_uses_the_first(sandbox: Sandbox, demo_channel: Path,
                                                            tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    env = {**sandbox.env, "CONDA_PKGS_DIRS": f"{first}{os.pathsep}{second}"}
    proc = create(sandbox, demo_channel, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (sandbox.root / "env" / "pkgs").resolve() == first
    assert any(first.iterdir()) and not second.exists()
    assert not any(":" in p.name for p in tmp_path.iterdir())


@needs_unshare
def test_lock_on_a_read_only_root_is_one_sentence(sandbox: Sandbox, demo_channel: Path) -> None:
    sandbox.run("create", "env", *NO_MANAGERS, "-c", str(demo_channel), check=True)
    proc = run_read_only(sandbox, sandbox.root, "lock", "env")
    refused(proc, 1, "Cannot refresh the lockfile", "Read-only file system")
