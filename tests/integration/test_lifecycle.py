"""create -> list -> verify -> remove through the real CLI, on real local channels."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mambaboot.devchannel import CONDA_VERSION, MAMBA_VERSION, PYTHON_VERSION
from tests.support.marks import needs_pty
from tests.support.sandbox import EngineUnderTest, Sandbox

PYVER = ".".join(PYTHON_VERSION.split(".")[:2])
EXTRAS = ("--with", "demo-tool", "--with", "demo-prefix", "--with", "demo-noarch")


def envdir(pyver: str = PYVER) -> str:
    return "demo_" + pyver.replace(".", "_")


@pytest.mark.parametrize("transport", ["directory", "http"])
def test_full_lifecycle_writes_nothing_outside_root_and_cache(
        sandbox: Sandbox, demo_channel: Path, demo_channel_url: str, transport: str,
        engine: EngineUnderTest) -> None:
    channel = str(demo_channel) if transport == "directory" else demo_channel_url
    created = sandbox.run("create", "demo", PYVER, "-c", channel, *EXTRAS, *engine.args,
                          env=engine.env(sandbox.env), check=True)
    prefix = sandbox.root / envdir()
    assert f"Created {prefix}" in created.stdout
    assert f"Python {PYTHON_VERSION}" in created.stdout
    assert "mambaboot shell" in created.stdout  # how to enter it

    manifest = json.loads((prefix / ".mambaboot" / "env.json").read_text())
    assert manifest["name"] == envdir()
    assert manifest["specs"][:4] == [f"python={PYVER}", "pip", "conda", "mamba"]
    assert manifest["engine"] == engine.name and manifest["engine_version"]
    assert manifest["python_version"] == PYTHON_VERSION
    assert manifest["platform"] and manifest["created"] and manifest["mambaboot_version"]
    assert not (prefix / ".mambaboot" / "creating").exists()

    # the shared cache is linked, not copied; and the cache tag stays in the cache
    cache = sandbox.root / ".cache" / "pkgs"
    assert (prefix / "pkgs").is_symlink() and (prefix / "pkgs").resolve() == cache.resolve()
    assert not (prefix / "CACHEDIR.TAG").exists()
    # prefix placeholders were replaced by the real (awkward) prefix
    where = (prefix / "share" / "demo-prefix" / "where.txt").read_text(encoding="utf-8")
    assert str(prefix) in where and "anaconda1anaconda2" not in where

    listed = json.loads(sandbox.run("list", "--json", check=True).stdout)["result"]
    [entry] = listed["environments"]
    assert (entry["name"], entry["status"], entry["python_version"]) == (
        envdir(), "ok", PYTHON_VERSION)
    records = list((prefix / "conda-meta").glob("*.json"))
    assert entry["package_count"] == len(records) == manifest["package_count"]
    assert {"python", "conda", "mamba", "demo-prefix"} <= {
        json.loads(r.read_text())["name"] for r in records}
    assert entry["size_bytes"] > 1_000_000

    verified = sandbox.run("verify", envdir(), check=True)
    assert f"conda {CONDA_VERSION}" in verified.stdout and MAMBA_VERSION in verified.stdout

    sentinel = cache / "sentinel-do-not-delete"
    sentinel.write_text("cache must survive remove")
    cached_before = sorted(p.name for p in cache.iterdir())
    if engine.name == "micromamba":  # the binary stays in the cache, its HOME inside it
        assert (sandbox.root / ".cache" / "micromamba").is_dir()
    removed = sandbox.run("remove", envdir(), "--yes", check=True)
    assert f"Removed {prefix}" in removed.stdout
    assert not prefix.exists()
    assert sorted(p.name for p in cache.iterdir()) == cached_before
    assert sandbox.run("list", "--json", check=True).stdout.count('"name"') == 0
    sandbox.assert_user_dirs_untouched()


def test_defaults_latest_python_without_managers(sandbox: Sandbox, demo_channel: Path) -> None:
    proc = sandbox.run("create", "--no-managers", "-c", str(demo_channel), "--json", check=True)
    doc = json.loads(proc.stdout)
    assert doc["ok"] and doc["command"] == "create"
    result = doc["result"]
    assert result["name"] == "py"  # NAME defaults to "py", no PYVER suffix
    assert result["specs"] == ["python", "pip"]  # pip with python, as in conda
    assert result["package_count"] == 2
    prefix = sandbox.root / "py"
    assert [p.name for p in (prefix / "conda-meta").glob("conda-*.json")] == []
    assert result["written"][0] == str(prefix)


def test_existing_environment_is_refused_and_kept(sandbox: Sandbox, demo_channel: Path) -> None:
    args = ("create", "x", "--no-managers", "-c", str(demo_channel))
    sandbox.run(*args, check=True)
    again = sandbox.run(*args)
    assert again.returncode == 1
    assert "already exists" in again.stderr and "mambaboot remove" in again.stderr
    assert "Traceback" not in again.stderr
    assert (sandbox.root / "x" / ".mambaboot" / "env.json").exists()


def test_failed_create_leftover_is_listed_incomplete_then_replaced(
        sandbox: Sandbox, demo_channel: Path) -> None:
    half = sandbox.root / "half"
    (half / ".mambaboot").mkdir(parents=True)
    (half / ".mambaboot" / "creating").write_text("pid 1\n")
    (half / "junk").write_text("left by a crash")
    listed = json.loads(sandbox.run("list", "--json", check=True).stdout)["result"]
    assert [(e["name"], e["status"]) for e in listed["environments"]] == [("half", "incomplete")]
    refused = sandbox.run("verify", "half")
    assert refused.returncode == 1 and "unfinished create" in refused.stderr
    sandbox.run("create", "half", "--no-managers", "-c", str(demo_channel), check=True)
    assert not (half / "junk").exists()
    listed = json.loads(sandbox.run("list", "--json", check=True).stdout)["result"]
    assert [(e["name"], e["status"]) for e in listed["environments"]] == [("half", "ok")]


def test_engine_crash_leaves_nothing_usable(sandbox: Sandbox, demo_channel: Path) -> None:
    env = {**sandbox.env, "MAMBABOOT_TEST_CRASH_AT": "install"}
    proc = sandbox.run("create", "boom", "--no-managers", "-c", str(demo_channel), env=env)
    assert proc.returncode == 1
    assert "crashed (SIGSEGV)" in proc.stderr and "Traceback" not in proc.stderr
    assert not (sandbox.root / "boom").exists()


def test_verify_reports_a_missing_file(sandbox: Sandbox, demo_channel: Path) -> None:
    sandbox.run("create", "v", "--no-managers", "--with", "demo-tool", "-c", str(demo_channel),
                check=True)
    (sandbox.root / "v" / "bin" / "demo-tool").unlink()
    proc = sandbox.run("verify", "v")
    assert proc.returncode == 1
    assert "FAIL files" in proc.stdout and "bin/demo-tool" in proc.stdout
    doc = json.loads(sandbox.run("verify", "v", "--json").stdout)
    assert doc["ok"] is False and doc["exit_code"] == 1 and "error" not in doc
    report = doc["result"]
    assert report["ok"] is False
    assert {c["name"]: c["ok"] for c in report["checks"]}["python"] is True


def test_broken_python_fails_verification_and_is_removed(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    """A channel whose python cannot start: create must fail and leave no prefix."""
    from mambaboot.devchannel import FileSpec, PackageSpec, index_channel, write_package

    channel = tmp_path / "broken"
    write_package(PackageSpec(name="python", version="3.99.0", files={
        "bin/python": FileSpec(b"#!/bin/sh\nexit 3\n", executable=True)}), channel)
    write_package(PackageSpec(name="placeholder", version="1", subdir="noarch",
                              noarch="generic"), channel)
    index_channel(channel)
    proc = sandbox.run("create", "bad", "--no-managers", "--no-pip", "-c", str(channel))
    assert proc.returncode == 1
    assert "does not work" in proc.stderr and "exit code 3" in proc.stderr
    assert not (sandbox.root / "bad").exists()


def test_remove_refuses_foreign_directories_and_needs_confirmation(
        sandbox: Sandbox, demo_channel: Path) -> None:
    foreign = sandbox.root / "conda_env"
    (foreign / "conda-meta").mkdir(parents=True)
    proc = sandbox.run("remove", "conda_env", "--yes")
    assert proc.returncode == 1 and "not a mambaboot environment" in proc.stderr
    assert foreign.exists()
    sandbox.run("create", "r", "--no-managers", "-c", str(demo_channel), check=True)
    proc = sandbox.run("remove", "r")  # stdin is not a terminal
    assert proc.returncode == 2 and "--yes" in proc.stderr
    dry = sandbox.run("remove", "r", "--dry-run", check=True)
    assert "Would remove" in dry.stdout and "conda-meta" in dry.stdout
    assert (sandbox.root / "r" / ".mambaboot" / "env.json").exists()


def test_cache_can_live_elsewhere(sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    cache = tmp_path / "shared cache"
    sandbox.run("create", "c", "--no-managers", "-c", str(demo_channel), "--cache", str(cache),
                check=True)
    assert os.path.realpath(sandbox.root / "c" / "pkgs") == str((cache / "pkgs").resolve())
    assert not (sandbox.root / ".cache").exists()


@needs_pty
def test_progress_on_a_terminal_and_quiet_when_piped(sandbox: Sandbox, demo_channel: Path) -> None:
    import sys

    import pexpect

    child = pexpect.spawn(sys.executable, ["-m", "mambaboot", "create", "tty", "--no-managers",
                                           "-c", str(demo_channel)],
                          env={**sandbox.env, "TERM": "xterm"}, encoding="utf-8", timeout=120)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Solving" in child.before or "Installing" in child.before
    piped = sandbox.run("create", "piped", "--no-managers", "-c", str(demo_channel), check=True)
    assert piped.stderr == ""  # no progress noise in logs


def test_a_channel_without_pip_says_no_pip_is_the_way(sandbox: Sandbox, tmp_path: Path,
                                                       demo_channel: Path) -> None:
    """python comes with pip by default (as in conda); a channel lacking it says what to do."""
    import shutil

    channel = tmp_path / "nopip"
    shutil.copytree(demo_channel, channel)
    for archive in channel.glob("*/pip-*"):
        archive.unlink()
    from mambaboot.devchannel import index_channel

    index_channel(channel)
    proc = sandbox.run("create", "np", "--no-managers", "-c", str(channel))
    assert proc.returncode == 1 and "--no-pip" in proc.stderr
    sandbox.run("create", "np", "--no-managers", "--no-pip", "-c", str(channel), check=True)
    names = {p.name.rsplit("-", 2)[0] for p in (sandbox.root / "np" / "conda-meta").glob("*.json")}
    assert "pip" not in names and "python" in names
