"""The venv mambaboot is installed in is its home, not an "active environment"."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.skipif(sys.prefix == sys.base_prefix,
                                reason="the suite must run from a venv for this to mean anything")


def in_own_venv(sandbox: Sandbox) -> dict[str, str]:
    """The sandbox env as after 'source .venv/bin/activate' of the venv running mambaboot."""
    tool_bin = str(Path(sys.prefix) / "bin")
    return {**sandbox.env, "VIRTUAL_ENV": sys.prefix, "VIRTUAL_ENV_PROMPT": "(.venv) ",
            "PATH": tool_bin + os.pathsep + sandbox.env.get("PATH", "")}


def test_create_run_and_verify_work_with_the_tools_own_venv_active(
        sandbox: Sandbox, demo_channel: Path) -> None:
    env = in_own_venv(sandbox)
    sandbox.run("create", "mine", "--no-managers", "-c", str(demo_channel), env=env, check=True)
    probe = ("import json, os, sys; print(json.dumps({'prefix': sys.prefix, "
             "'venv': os.environ.get('VIRTUAL_ENV'), 'path': os.environ['PATH']}))")
    proc = sandbox.run("run", "mine", "--", "python", "-c", probe, env=env, check=True)
    seen = json.loads(proc.stdout)
    assert Path(seen["prefix"]) == sandbox.root / "mine"
    assert seen["venv"] is None  # the tool's venv is not passed on
    assert str(Path(sys.prefix) / "bin") not in seen["path"].split(os.pathsep)
    assert sandbox.run("verify", "mine", env=env).returncode == 0


def test_another_venv_is_still_refused_with_a_command_to_paste(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-venv"
    other.mkdir()
    env = {**sandbox.env, "VIRTUAL_ENV": str(other)}
    proc = sandbox.run("create", "x", "-c", str(demo_channel), env=env)
    assert proc.returncode == 2
    assert "VIRTUAL_ENV is set" in proc.stderr and "run 'deactivate'" in proc.stderr
    doctor = sandbox.run("doctor", env=env)
    assert "run 'deactivate' first" in doctor.stdout + doctor.stderr


@pytest.mark.parametrize(("var", "fix"), [("CONDA_PREFIX", "conda deactivate"),
                                          ("PYTHONPATH", "unset PYTHONPATH"),
                                          ("MAMBABOOT_ENV", "exit")])
def test_each_refusal_names_a_pasteable_fix_and_doctor_agrees(
        sandbox: Sandbox, demo_channel: Path, var: str, fix: str) -> None:
    env = {**sandbox.env, var: str(sandbox.base / "nothing-here")}
    proc = sandbox.run("create", "x", "-c", str(demo_channel), env=env)
    assert proc.returncode == 2 and f"run '{fix}'" in proc.stderr, proc.stderr
    doctor = sandbox.run("doctor", env=env)
    assert f"run '{fix}' first" in doctor.stdout + doctor.stderr
