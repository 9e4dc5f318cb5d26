"""Through the real CLI: activate.d scripts (package code) never run during ``create``.

They run when the user enters the environment (``run``, ``shell``), as conda
runs them; ``run`` measures them bounded in time and leaves no process behind.
The packages are built here, in a channel next to the demo channel.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from mambaboot.devchannel import PackageSpec, index_channel, write_package
from tests.support.prefixes import processes_with
from tests.support.sandbox import Sandbox
from tests.support.scratch import scratch_dir

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="activate.d *.sh scripts and /proc")

TOKEN = uuid.uuid4().hex  # exported by the scripts: every process they start carries it


def activate_d(name: str, body: str) -> PackageSpec:
    return PackageSpec(name, "1.0", files={f"etc/conda/activate.d/{name}.sh": body.encode()})


@pytest.fixture(scope="module")
def channel(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(channel, marker file): packages whose activate.d scripts mark, hang, or fork."""
    base = scratch_dir(request, tmp_path_factory, "pkgcode")
    marker = base / "activated.log"
    folder = base / "channel"
    for spec in (
        activate_d("marker-act", f'echo "$0" >> "{marker}"\nexport MARKED=1\n'),
        activate_d("hang-act", f"export PROBE={TOKEN}-hang\nsleep 1000 &\nsleep 1000\n"),
        activate_d("bg-act", f"export PROBE={TOKEN}-bg\nsleep 1000 &\n"
                             "( sleep 1000; echo late ) &\nexport BG_ACT=1\n"),
    ):
        write_package(spec, folder)
    index_channel(folder)
    return folder, marker


def create(sandbox: Sandbox, demo_channel: Path, channel: Path, pkg: str) -> Path:
    started = time.monotonic()
    sandbox.run("create", pkg, "--no-managers", "-c", str(demo_channel), "-c", str(channel),
                "--with", pkg, check=True, timeout=120)
    # the old create ran the scripts with a 60 s limit: a hanging one cost that much
    assert time.monotonic() - started < 45
    prefix = sandbox.root / pkg
    stored = json.loads((prefix / ".mambaboot" / "activation.json").read_text())
    assert stored["activate_d"] is None  # not measured: nothing ran
    return prefix


def test_scripts_do_not_run_at_create_but_at_run_and_shell(
        sandbox: Sandbox, demo_channel: Path, channel: tuple[Path, Path]) -> None:
    folder, marker = channel
    marker.unlink(missing_ok=True)
    prefix = create(sandbox, demo_channel, folder, "marker-act")
    assert not marker.exists(), "an activate.d script ran during create"

    probe = "import os; print(os.environ['MARKED'])"
    proc = sandbox.run("run", str(prefix), "--", "python", "-c", probe, check=True)
    assert proc.stdout == "1\n"
    assert len(marker.read_text().splitlines()) == 1  # measured once, on first entry
    sandbox.run("run", str(prefix), "--", "python", "-c", probe, check=True)
    assert len(marker.read_text().splitlines()) == 1  # then the stored result is used

    shell = subprocess.run([sys.executable, "-m", "mambaboot", "shell", str(prefix), "--shell",
                            "bash"], env=sandbox.env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60, check=False)
    assert shell.returncode == 0, shell.stderr
    assert len(marker.read_text().splitlines()) == 2  # the shell's activate.sh sourced it
    sandbox.assert_user_dirs_untouched()


def test_a_hanging_script_stops_run_with_one_sentence_and_no_process_left(
        sandbox: Sandbox, demo_channel: Path, channel: tuple[Path, Path]) -> None:
    prefix = create(sandbox, demo_channel, channel[0], "hang-act")
    assert processes_with(TOKEN + "-hang", wait=0) == []  # create started nothing
    started = time.monotonic()
    proc = sandbox.run("run", str(prefix), "--", "python", "-c", "print('never')",
                       env={**sandbox.env, "MAMBABOOT_ACTIVATE_TIMEOUT": "2"}, timeout=60)
    elapsed = time.monotonic() - started
    script = prefix / "etc" / "conda" / "activate.d" / "hang-act.sh"
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == (
        f"mambaboot: The activate.d script {script} (from package hang-act-1.0-h0_0) did not "
        "finish within 2 s and was stopped with every process it started; fix or remove that "
        "package, or allow more time with MAMBABOOT_ACTIVATE_TIMEOUT=SECONDS.\n")
    assert elapsed < 2 + 5
    assert processes_with(TOKEN + "-hang") == []


def test_a_bad_timeout_value_is_one_sentence_and_exit_2(
        sandbox: Sandbox, demo_channel: Path, channel: tuple[Path, Path]) -> None:
    prefix = create(sandbox, demo_channel, channel[0], "marker-act")
    proc = sandbox.run("run", str(prefix), "--", "python", "-c", "pass",
                       env={**sandbox.env, "MAMBABOOT_ACTIVATE_TIMEOUT": "soon"})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "MAMBABOOT_ACTIVATE_TIMEOUT='soon'" in proc.stderr


def test_background_processes_of_a_script_do_not_outlive_run(
        sandbox: Sandbox, demo_channel: Path, channel: tuple[Path, Path]) -> None:
    prefix = create(sandbox, demo_channel, channel[0], "bg-act")
    started = time.monotonic()
    # capture_output: a leftover child holding stderr open would make this wait
    proc = sandbox.run("run", str(prefix), "--", "python", "-c",
                       "import os; print(os.environ['BG_ACT'])", timeout=60)
    assert proc.returncode == 0 and proc.stdout == "1\n", proc.stderr
    assert time.monotonic() - started < 15
    assert processes_with(TOKEN + "-bg") == []
    assert "late" not in proc.stderr


def test_ctrl_c_while_measuring_exits_130_and_kills_the_script(
        sandbox: Sandbox, demo_channel: Path, channel: tuple[Path, Path]) -> None:
    prefix = create(sandbox, demo_channel, channel[0], "hang-act")
    proc = subprocess.Popen([sys.executable, "-m", "mambaboot", "run", str(prefix), "--", "true"],
                            env=sandbox.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not processes_with(TOKEN + "-hang", wait=0):  # the script is running now
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and out == ""
    assert err == "mambaboot: interrupted before the command started; nothing was changed.\n"
    assert processes_with(TOKEN + "-hang") == []
