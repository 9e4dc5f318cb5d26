"""``mambaboot run`` on a real environment made by ``mambaboot create`` from the demo channel."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mambaboot.devchannel import PYTHON_VERSION
from tests.support.sandbox import Sandbox, demo_env
from tests.support.scratch import scratch_dir

PYVER = ".".join(PYTHON_VERSION.split(".")[:2])
ENVDIR = "demo_" + PYVER.replace(".", "_")


@pytest.fixture(scope="module")
def made(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         demo_channel: Path) -> tuple[Sandbox, Path]:
    """One real environment (python + conda + mamba + demo-activate) for the whole module."""
    return demo_env(scratch_dir(request, tmp_path_factory, "run"), demo_channel)


def run(sandbox: Sandbox, prefix: Path, *argv: str, **kw: object,
        ) -> subprocess.CompletedProcess[str]:
    return sandbox.run("run", str(prefix), "--", *argv, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", [0, 1, 42])
def test_exit_code_is_the_commands(made: tuple[Sandbox, Path], code: int) -> None:
    sandbox, prefix = made
    assert run(sandbox, prefix, "python", "-c", f"raise SystemExit({code})").returncode == code


def test_the_envs_python_runs_with_the_activation(made: tuple[Sandbox, Path]) -> None:
    sandbox, prefix = made
    probe = ("import json, os, sys; print(json.dumps([sys.executable, sys.prefix, "
             "os.environ['CONDA_PREFIX'], os.environ['DEMO_HOME'], os.environ['PATH']]))")
    proc = run(sandbox, prefix, "python", "-c", probe, check=True)
    exe, sys_prefix, conda_prefix, demo_home, path = json.loads(proc.stdout)
    assert Path(exe).parent == prefix / "bin"
    assert Path(sys_prefix).resolve() == prefix.resolve()
    assert conda_prefix == str(prefix)
    assert demo_home == f"{prefix}/share/demo"  # demo-activate's activate.d effect
    assert path.split(os.pathsep)[:2] == [str(prefix / "bin"), str(prefix / "condabin")]


def test_env_by_name_under_the_root_and_stdin_passes_through(made: tuple[Sandbox, Path]) -> None:
    sandbox, _ = made
    proc = subprocess.run([sys.executable, "-m", "mambaboot", "run", ENVDIR, "--", "python",
                           "-c", "print(input()[::-1])"], env=sandbox.env, input="olleh\n",
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.stdout == "hello\n", proc.stderr


def test_a_command_not_in_the_env_fails_127_with_a_message(made: tuple[Sandbox, Path]) -> None:
    sandbox, prefix = made
    proc = run(sandbox, prefix, "no-such-command-xyz")
    assert proc.returncode == 127
    assert "'no-such-command-xyz' was not found" in proc.stderr and "Traceback" not in proc.stderr


def test_refuses_inside_an_active_environment(made: tuple[Sandbox, Path]) -> None:
    sandbox, prefix = made
    proc = sandbox.run("run", str(prefix), "--", "python", "-c", "pass",
                       env={**sandbox.env, "MAMBABOOT_ENV": "/other"})
    assert proc.returncode == 2 and "MAMBABOOT_ENV" in proc.stderr


def test_sigterm_reaches_the_command(made: tuple[Sandbox, Path]) -> None:
    sandbox, prefix = made
    code = ("import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, lambda *a: (print('got SIGTERM', flush=True), "
            "sys.exit(7)))\nprint('ready', flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-m", "mambaboot", "run", str(prefix), "--",
                             "python", "-c", code], env=sandbox.env, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 7
    assert proc.stdout.read() == "got SIGTERM\n"


def test_output_is_not_buffered_and_large_output_streams(made: tuple[Sandbox, Path]) -> None:
    sandbox, prefix = made
    code = ("import sys, time\nsys.stdout.write('first\\n'); sys.stdout.flush()\n"
            "time.sleep(3)\nsys.stdout.buffer.write(b'x' * 30_000_000)\n")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "mambaboot", "run", str(prefix), "--",
                             "python", "-c", code], env=sandbox.env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 10)
    assert ready and proc.stdout.readline() == b"first\n"
    assert time.monotonic() - started < 3  # seen while the command was still sleeping
    assert len(proc.stdout.read()) == 30_000_000
    assert proc.wait(timeout=60) == 0


def imports_of_run(sandbox: Sandbox, prefix: Path) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "mambaboot", "run",
                           str(prefix), "--", "python", "-c", "pass"], env=sandbox.env,
                          capture_output=True, text=True, timeout=60, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "mambaboot.activation.run" in imported
    for heavy in ("rattler", "rich", "argparse", "mambaboot.engines", "httpx", "yaml"):
        assert not any(m == heavy or m.startswith(heavy + ".") for m in imported), heavy
    return imported


def test_hot_path_imports_neither_rattler_nor_rich_nor_argparse(
        made: tuple[Sandbox, Path], tmp_path: Path) -> None:
    sandbox, prefix = made
    # first entry of a fresh copy: the activate.d scripts are measured, still light
    copied = tmp_path / ENVDIR
    shutil.copytree(prefix, copied, symlinks=True)
    (copied / ".mambaboot" / "activation.json").unlink()
    assert "mambaboot.activation.activate_d" in imports_of_run(sandbox, copied)
    # every later run reads the stored result and does not even load the measuring code,
    # nor typing (~3 ms: annotations are imported only for type checkers on this path),
    # pathlib (~4 ms with urllib.parse and ipaddress) or the error classes (contextlib is
    # not checked: `python -m` itself imports it, the console script does not)
    usual = imports_of_run(sandbox, copied)
    assert "mambaboot.activation.activate_d" not in usual
    for light in ("typing", "pathlib", "collections.abc", "mambaboot.errors", "dataclasses",
                  "shutil"):
        assert light not in usual, light


def test_run_follows_a_moved_root_and_recomputes_after_conda_meta_changes(
        made: tuple[Sandbox, Path], tmp_path: Path) -> None:
    sandbox, prefix = made
    copied = tmp_path / "copy èрт 中" / ENVDIR
    shutil.copytree(prefix, copied, symlinks=True)
    moved = tmp_path / "moved again & èрт" / ENVDIR
    moved.parent.mkdir()
    copied.parent.rename(moved.parent)
    probe = "import os, sys; print(sys.prefix); print(os.environ['DEMO_HOME'])"
    lines = run(sandbox, moved, "python", "-c", probe, check=True).stdout.splitlines()
    assert Path(lines[0]).resolve() == moved.resolve()
    assert lines[1] == f"{moved}/share/demo"
    # as if `conda install` ran inside: a new activate.d script and a new record
    (moved / "etc" / "conda" / "activate.d" / "later.sh").write_text("export LATER=1\n")
    (moved / "conda-meta" / "later-1.0-0.json").write_text("{}")
    proc = run(sandbox, moved, "python", "-c", "import os; print(os.environ['LATER'])")
    assert proc.stdout == "1\n", proc.stderr


@pytest.mark.parametrize(("args", "expected"), [
    (["env", "--", "python", "-V"], ("env", None, False, ["python", "-V"])),
    (["env", "--root", "R", "--", "python"], ("env", "R", False, ["python"])),
    (["--root=R", "env", "-v", "python", "-v"], ("env", "R", True, ["python", "-v"])),
    (["env", "-q", "--cache", "C", "--", "--weird-command"],
     ("env", None, False, ["--weird-command"])),
    (["env", "python", "--root", "X"], ("env", None, False, ["python", "--root", "X"])),
    (["env", "--help"], None),
    (["--root"], None),
])
def test_tool_options_go_anywhere_before_the_command(args: list[str], expected: object) -> None:
    from mambaboot.cli.cmd_run import parse_fast

    assert parse_fast(args) == expected


def test_root_between_env_and_command_is_the_tools(made: tuple[Sandbox, Path],
                                                   tmp_path: Path) -> None:
    sandbox, prefix = made
    env = {k: v for k, v in sandbox.env.items() if k != "MAMBABOOT_ROOT"}
    proc = sandbox.run("run", prefix.name, "--root", str(prefix.parent), "--", "python", "-c",
                       "import sys; print(sys.prefix)", env=env, check=True)
    assert Path(proc.stdout.strip()).resolve() == prefix.resolve()
    proc = sandbox.run("run", prefix.name, "--root", str(prefix.parent), "--frobnicate",
                       "--", "true", env=env)
    assert proc.returncode == 2 and "Unknown option --frobnicate" in proc.stderr


@pytest.mark.parametrize("style", ["shebang", "trampoline"])
def test_a_moved_envs_script_names_its_missing_interpreter(
        made: tuple[Sandbox, Path], tmp_path: Path, style: str) -> None:
    sandbox, prefix = made
    copied = tmp_path / f"first-{style}" / ENVDIR
    shutil.copytree(prefix, copied, symlinks=True)
    python = copied / "bin" / "python"
    script = copied / "bin" / "mytool"
    body = (f"#!{python}\n" if style == "shebang"
            else f"#!/bin/sh\n'''exec' \"{python}\" \"$0\" \"$@\"\n' '''\n")
    script.write_text(body + "print('ran')\n")
    script.chmod(0o755)
    assert run(sandbox, copied, "mytool", check=True).stdout == "ran\n"
    moved = tmp_path / f"moved-{style}"
    copied.parent.rename(moved)
    proc = run(sandbox, moved / ENVDIR, "mytool")
    assert proc.returncode != 0
    assert "does not exist" in proc.stderr and "moved" in proc.stderr
    assert str(python) in proc.stderr and "python -m mytool" in proc.stderr
