"""Interrupted creates, concurrent processes and removal safety, with real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.sandbox import EngineUnderTest, Sandbox

if sys.platform == "win32":  # signal.SIGKILL below would fail collection
    pytest.skip("POSIX signals and process groups (os.killpg)", allow_module_level=True)

STAGES = ["solve", "download", "link", "install", "verify"]


def start_create(sandbox: Sandbox, name: str, channel: Path, stage: str, pause: Path,
                 *extra: str, engine: EngineUnderTest | None = None) -> subprocess.Popen[str]:
    env = {**(engine.env(sandbox.env) if engine else sandbox.env),
           "MAMBABOOT_TEST_PAUSE_AT": stage, "MAMBABOOT_TEST_PAUSE_FILE": str(pause)}
    return subprocess.Popen(
        [sys.executable, "-m", "mambaboot", "create", name, "--no-managers", "--with",
         "demo-tool", "-c", str(channel), *extra, *(engine.args if engine else [])],
        env=env, cwd=sandbox.base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


def wait_for(pause: Path, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not pause.exists():
        if proc.poll() is not None:
            raise AssertionError(f"create ended before pausing: {proc.communicate()}")
        assert time.monotonic() < deadline, "create never reached the pause point"
        time.sleep(0.05)


def statuses(sandbox: Sandbox) -> dict[str, str]:
    listed = json.loads(sandbox.run("list", "--json", check=True).stdout)["result"]
    return {e["name"]: e["status"] for e in listed["environments"]}


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_create_is_never_usable_and_is_replaced(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path, stage: str,
        sig: signal.Signals, engine: EngineUnderTest) -> None:
    cache = tmp_path / "cold cache"  # a cold cache, so 'download' really downloads
    pause = tmp_path / "paused"
    proc = start_create(sandbox, "k", demo_channel, stage, pause, "--cache", str(cache),
                        engine=engine)
    wait_for(pause, proc)
    os.killpg(proc.pid, sig)  # like Ctrl-C in a terminal: the whole process group
    proc.communicate(timeout=60)
    pause.unlink(missing_ok=True)
    prefix = sandbox.root / "k"
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert not prefix.exists()  # Ctrl-C: cleaned up on the way out
    else:
        assert statuses(sandbox).get("k", "absent") in ("incomplete", "absent")
    assert statuses(sandbox).get("k") != "ok"
    assert sandbox.run("verify", "k").returncode == 1
    # the next create of the same name succeeds, from the same cache, and works
    sandbox.run("create", "k", "--no-managers", "--with", "demo-tool", "-c", str(demo_channel),
                "--cache", str(cache), *engine.args, env=engine.env(sandbox.env), check=True)
    assert statuses(sandbox)["k"] == "ok"
    assert sandbox.run("verify", "k").returncode == 0


@pytest.mark.parametrize("stage", ["fetch", "install"])
def test_sigterm_cleans_up_as_ctrl_c_does(sandbox: Sandbox, demo_channel: Path, tmp_path: Path,
                                          stage: str) -> None:
    """``kill PID`` (a service manager, a CI timeout) reaches only the CLI: it removes the
    half-made prefix and its engine processes, and exits 143."""
    cache = tmp_path / "cold cache"
    pause = tmp_path / "paused"
    proc = start_create(sandbox, "t", demo_channel, stage, pause, "--cache", str(cache))
    wait_for(pause, proc)
    os.kill(proc.pid, signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    pause.unlink(missing_ok=True)
    assert proc.returncode == 143, err
    assert "interrupted" in err and "Traceback" not in err
    assert not (sandbox.root / "t").exists()
    staging = cache / "pkgs" / ".mambaboot-staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    sandbox.run("create", "t", "--no-managers", "--with", "demo-tool", "-c", str(demo_channel),
                "--cache", str(cache), check=True)


def test_same_name_twice_at_once_one_wins(sandbox: Sandbox, demo_channel: Path,
                                          tmp_path: Path) -> None:
    pause = tmp_path / "paused"
    first = start_create(sandbox, "same", demo_channel, "install", pause)
    wait_for(pause, first)
    second = sandbox.run("create", "same", "--no-managers", "-c", str(demo_channel))
    assert second.returncode == 1
    assert "Another mambaboot process is working on" in second.stderr
    removing = sandbox.run("remove", "same", "--yes")
    assert removing.returncode == 1 and "Another mambaboot process" in removing.stderr
    pause.unlink()
    assert first.wait(timeout=120) == 0, first.communicate()
    assert statuses(sandbox)["same"] == "ok"


def test_different_names_share_one_cold_cache(sandbox: Sandbox, demo_channel: Path,
                                              tmp_path: Path) -> None:
    cache = tmp_path / "shared"
    procs = [subprocess.Popen(
        [sys.executable, "-m", "mambaboot", "create", name, "--with", "demo-tool", "-c",
         str(demo_channel), "--cache", str(cache)], env=sandbox.env, cwd=sandbox.base,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("one", "two")]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    for name in ("one", "two"):
        assert sandbox.run("verify", name).returncode == 0


def test_lock_is_released_when_the_holder_is_killed(sandbox: Sandbox, demo_channel: Path,
                                                     tmp_path: Path) -> None:
    pause = tmp_path / "paused"
    proc = start_create(sandbox, "held", demo_channel, "install", pause)
    wait_for(pause, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    sandbox.run("create", "held", "--no-managers", "-c", str(demo_channel), check=True)


@pytest.fixture
def made(sandbox: Sandbox, demo_channel: Path) -> Path:
    sandbox.run("create", "env", "--no-managers", "-c", str(demo_channel), check=True)
    return sandbox.root / "env"


def test_remove_refuses_dangerous_targets(sandbox: Sandbox, made: Path, tmp_path: Path) -> None:
    home = Path(sandbox.env["HOME"])
    for target in ("/", str(home), str(sandbox.root)):
        proc = sandbox.run("remove", target, "--yes")
        assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr, target
    assert made.exists() and home.exists()
    link = tmp_path / "link-to-env"
    link.symlink_to(made, target_is_directory=True)
    proc = sandbox.run("remove", str(link), "--yes")
    assert proc.returncode == 1 and "link" in proc.stderr
    assert made.exists()
    env = {**sandbox.env, "CONDA_PREFIX": str(made)}
    proc = sandbox.run("remove", str(made), "--yes", env=env)
    assert proc.returncode == 1 and "active environment" in proc.stderr
    assert made.exists()


def test_remove_never_follows_links_out_of_the_prefix(sandbox: Sandbox, made: Path,
                                                       tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sentinel").write_text("must survive")
    (made / "lib" / "escape").symlink_to(outside, target_is_directory=True)
    (made / "pkgs").unlink()
    (made / "pkgs").symlink_to(outside, target_is_directory=True)  # even a swapped pkgs link
    cache = sandbox.root / ".cache" / "pkgs"
    cached = sorted(p.name for p in cache.iterdir())
    sandbox.run("remove", "env", "--yes", check=True)
    assert not made.exists()
    assert (outside / "sentinel").read_text() == "must survive"
    assert sorted(p.name for p in cache.iterdir()) == cached
    assert sandbox.root.exists()


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie awaiting its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_engine_worker_dies_with_a_killed_cli_and_the_next_create_succeeds(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    """kill -9 of the CLI alone (not its group): the worker must not live on in the prefix."""
    pause = tmp_path / "paused"
    proc = start_create(sandbox, "orphan", demo_channel, "install", pause)
    wait_for(pause, proc)
    worker = int(pause.read_text().split()[0])
    assert worker != proc.pid  # the pause is in the engine worker
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    deadline = time.monotonic() + 5
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(worker), "the engine worker outlived its CLI"
    pause.unlink()
    # right away: the env lock is free and the leftover is replaced
    assert sandbox.run("remove", "orphan", "--yes").returncode == 0
    sandbox.run("create", "orphan", "--no-managers", "-c", str(demo_channel), check=True)


def test_staging_left_by_a_dead_worker_is_swept(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    staging = cache / "pkgs" / ".mambaboot-staging"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    leftover = staging / f"{dead.stdout.strip()}-0123456789ab-demo-tool-1.0-h0_0"
    (leftover / "lib").mkdir(parents=True)
    alive = staging / f"{os.getpid()}-0123456789ab-libdemo-2.0-h0_0"  # a live pid: kept
    alive.mkdir()
    sandbox.run("create", "s", "--no-managers", "-c", str(demo_channel), "--cache", str(cache),
                check=True)
    assert not leftover.exists()
    assert alive.exists()


def test_archive_downloads_survive_a_flaky_channel(
        sandbox: Sandbox, demo_channel: Path, channel_server, tmp_path: Path) -> None:
    """The package archives take the same retrying path as every other download."""
    server = channel_server(demo_channel)
    for archive in ("python-*", "pip-*", "demo-tool-*", "libdemo-*"):
        server.faults.fail(f"*/{archive}", status=503, times=1)  # once per archive
    server.faults.truncate("*/libdemo-2.0-*", after_bytes=100, times=1)  # cut short once
    proc = sandbox.run("create", "flaky", "--no-managers", "--with", "demo-tool",
                       "-c", server.url, "--cache", str(tmp_path / "cache"))
    assert proc.returncode == 0, proc.stderr
    assert server.count("*/python-*") >= 2 and server.count("*/libdemo-2.0-*") >= 3  # retried
    assert sandbox.run("verify", "flaky").returncode == 0
    # and a channel that keeps failing is one sentence naming the archive, after retries
    server.faults.clear()
    server.faults.fail("*/demo-tool-*", status=503, times=None)
    env = {**sandbox.env, "MAMBABOOT_HTTP_RETRIES": "1"}
    proc = sandbox.run("create", "down", "--no-managers", "--with", "demo-tool",
                       "-c", server.url, "--cache", str(tmp_path / "cache2"), env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "demo-tool-1.0" in proc.stderr and "after 2 attempts" in proc.stderr, proc.stderr
    assert not (sandbox.root / "down").exists()
