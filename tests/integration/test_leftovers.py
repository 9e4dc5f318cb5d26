"""Leftovers, interrupts and mounts through the real CLI (issue 10, items 8 and 9).

Each test checks what a user would see: the exit code, one sentence, no
traceback, and that nothing that is not ours was deleted.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.fstools import unshare_works
from tests.support.sandbox import Sandbox

MM_CMD = ("# cmd: micromamba create --yes --prefix {path} --override-channels -c c "
          "--no-rc --root-prefix /c/micromamba/root python\n")


def statuses(sandbox: Sandbox) -> dict[str, str]:
    listed = json.loads(sandbox.run("list", "--json", check=True).stdout)["result"]
    return {e["name"]: e["status"] for e in listed["environments"]}


def one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def make_env(sandbox: Sandbox, channel: Path, name: str = "env") -> Path:
    sandbox.run("create", name, "--no-managers", "-c", str(channel), check=True)
    return sandbox.root / name


@pytest.mark.parametrize("command", [["list"], ["remove", "x", "--yes"], ["--help"]])
def test_ctrl_c_while_the_cli_starts_is_one_line_and_exit_130(
        sandbox: Sandbox, tmp_path: Path, command: list[str]) -> None:
    pause = tmp_path / "paused"
    env = {**sandbox.env, "MAMBABOOT_TEST_PAUSE_AT": "startup",
           "MAMBABOOT_TEST_PAUSE_FILE": str(pause)}
    proc = subprocess.Popen([sys.executable, "-m", "mambaboot", *command], env=env,
                            cwd=sandbox.base, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    while not pause.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted" in one_sentence(err)


def test_a_stray_parked_marker_never_gets_a_foreign_folder_deleted(
        sandbox: Sandbox, demo_channel: Path) -> None:
    foreign = sandbox.root / "mine"
    (foreign / "conda-meta").mkdir(parents=True)
    (foreign / "conda-meta" / "history").write_text("# cmd: conda create -p mine\n")
    (foreign / "thesis.tex").write_text("years of work")
    parked = sandbox.root / ".mine.mambaboot-parked"
    parked.mkdir()
    (parked / "creating").write_text("pid 1\n")
    created = sandbox.run("create", "mine", "--no-managers", "-c", str(demo_channel))
    assert created.returncode == 1
    assert str(foreign) in one_sentence(created.stderr)
    removed = sandbox.run("remove", "mine", "--yes")
    assert removed.returncode == 1 and "stray" in one_sentence(removed.stderr)
    assert (foreign / "thesis.tex").read_text() == "years of work"
    assert "mine" not in statuses(sandbox)


def test_a_create_killed_while_micromamba_ran_is_ours_and_replaced(
        sandbox: Sandbox, demo_channel: Path) -> None:
    """What SIGKILL leaves while the micromamba engine has parked our folder."""
    prefix = sandbox.root / "mm"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / "history").write_text(MM_CMD.format(path=prefix))
    (prefix / "lib").mkdir()
    (prefix / "lib" / "half-linked.py").write_text("x")
    parked = sandbox.root / ".mm.mambaboot-parked"
    parked.mkdir()
    (parked / "creating").write_text("pid 1\n")
    assert statuses(sandbox)["mm"] == "incomplete"
    sandbox.run("create", "mm", "--no-managers", "-c", str(demo_channel), check=True)
    assert statuses(sandbox)["mm"] == "ok"
    assert not (prefix / "lib" / "half-linked.py").exists() and not parked.exists()


def test_a_clean_up_cut_short_leaves_a_marked_tree_that_create_and_remove_finish(
        sandbox: Sandbox, demo_channel: Path) -> None:
    """The marker is deleted last, so whatever a second Ctrl-C leaves is still marked."""
    for name, finish in (("a", "create"), ("b", "remove")):
        prefix = make_env(sandbox, demo_channel, name)
        (prefix / ".mambaboot" / "env.json").unlink()  # clean-up got this far ...
        shutil.rmtree(prefix / "lib")
        (prefix / ".mambaboot" / "creating").write_text("pid 1\n")  # ... marker still there
        assert statuses(sandbox)[name] == "incomplete"
        if finish == "create":
            sandbox.run("create", name, "--no-managers", "-c", str(demo_channel), check=True)
            assert statuses(sandbox)[name] == "ok"
        else:
            sandbox.run("remove", name, "--yes", check=True)
            assert not prefix.exists()


def test_remove_refuses_a_path_through_a_symlinked_parent(sandbox: Sandbox, demo_channel: Path,
                                                          tmp_path: Path) -> None:
    prefix = make_env(sandbox, demo_channel)
    alias = tmp_path / "alias"
    alias.symlink_to(sandbox.root, target_is_directory=True)
    proc = sandbox.run("remove", str(alias / "env"), "--yes")
    assert proc.returncode == 1
    assert f"real path {prefix}" in one_sentence(proc.stderr)
    assert statuses(sandbox)["env"] == "ok"


@pytest.mark.skipif(not unshare_works(),
                    reason="needs Linux with 'unshare -rm' and mount rights (user namespaces)")
@pytest.mark.parametrize("kind", ["bind", "tmpfs"])
def test_remove_never_crosses_a_mount_point(sandbox: Sandbox, demo_channel: Path,
                                            tmp_path: Path, kind: str) -> None:
    """A bind mount of the user's data inside an env: remove must refuse, not empty it."""
    prefix = make_env(sandbox, demo_channel)
    data = tmp_path / "data"
    data.mkdir()
    (data / "precious").write_text("keep")
    where = prefix / "lib" / "mnt"
    where.mkdir()
    mount = (f'mount --bind "{data}" "{where}"' if kind == "bind"
             else f'mount -t tmpfs none "{where}" && echo keep > "{where}/precious"')
    script = (f'{mount} && "{sys.executable}" -m mambaboot remove env --yes; rc=$?; '
              f'cat "{where}/precious" >&2; exit $rc')
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], env=sandbox.env,
                          cwd=sandbox.base, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 1, proc.stderr
    first, kept = proc.stderr.strip().splitlines()
    assert "mount point" in first and "Traceback" not in proc.stderr and kept == "keep"
    assert (data / "precious").read_text() == "keep"
    assert statuses(sandbox)["env"] == "ok"  # nothing was deleted before the refusal
