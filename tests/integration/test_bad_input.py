"""Every bad input: one sentence naming the problem and the fix, no traceback, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.marks import needs_pty
from tests.support.sandbox import Sandbox, snapshot


def assert_clean_failure(proc: subprocess.CompletedProcess[str], code: int) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith("mambaboot: ") and first.endswith("."), first


BAD_CREATE_ARGS = {
    "empty name": [""],
    "separator": ["a/b"],
    "backslash": ["a\\b"],
    "dotdot": [".."],
    "reserved CON": ["CON"],
    "reserved com1": ["com1"],
    "forbidden char": ["a:b"],
    "question mark": ["what?"],
    "trailing dot": ["name."],
    "trailing space": ["name "],
    "too long": ["n" * 101],
    "pyver abc": ["env", "abc"],
    "pyver 3.x": ["env", "3.x"],
    "pyver injection": ["env", "3.12;rm -rf /"],
    "bad --with": ["env", "--with", "numpy; rm -rf ~"],
    "unknown engine": ["env", "--engine", "pip"],
    "unknown flag": ["env", "--frobnicate"],
    "missing template": ["env", "--template", "/no/such/dir"],
    "semicolon": ["a;touch pwned"],
    "command substitution": ["$(touch pwned)"],
    "backtick": ["`touch pwned`"],
    "space": ["my env"],
    "hidden": [".hidden"],
    "leading dash-like": ["-x-"],
    "version as name": ["3.11"],
    "python 2": ["env", "2.7"],
}


@pytest.mark.parametrize("args", BAD_CREATE_ARGS.values(), ids=BAD_CREATE_ARGS.keys())
def test_bad_create_input_exit_2_and_writes_nothing(
        sandbox: Sandbox, demo_channel: Path, args: list[str]) -> None:
    proc = sandbox.run("create", *args, "-c", str(demo_channel))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert snapshot(sandbox.root) == set()
    sandbox.assert_user_dirs_untouched()


@pytest.mark.parametrize("var", ["CONDA_PREFIX", "CONDA_SHLVL", "PYTHONHOME", "PYTHONPATH",
                                 "VIRTUAL_ENV"])
def test_active_environment_is_refused(sandbox: Sandbox, demo_channel: Path, var: str) -> None:
    env = {**sandbox.env, var: "/some/where" if var != "CONDA_SHLVL" else "1"}
    if var == "PYTHONHOME":  # our own interpreter honours it too: keep it starting
        env[var] = sys.base_prefix
    if var == "PYTHONPATH":
        env[var] = str(sandbox.base / "nothing-here")
    proc = sandbox.run("create", "e", "-c", str(demo_channel), env=env)
    assert_clean_failure(proc, 2)
    assert var in proc.stderr and "one environment per shell" in proc.stderr
    assert snapshot(sandbox.root) == set()


def test_missing_channel_directory_is_exit_1(sandbox: Sandbox, tmp_path: Path) -> None:
    proc = sandbox.run("create", "e", "-c", str(tmp_path / "no-channel"))
    assert_clean_failure(proc, 1)
    assert "does not exist" in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = sandbox.run("create", "e", "-c", str(empty))
    assert_clean_failure(proc, 1)
    assert "repodata" in proc.stderr
    assert snapshot(sandbox.root) == set()


def test_unsatisfiable_spec_is_exit_1_with_a_condensed_reason(
        sandbox: Sandbox, demo_channel: Path) -> None:
    proc = sandbox.run("create", "e", "3.4", "-c", str(demo_channel))
    assert_clean_failure(proc, 1)
    assert "cannot be installed together" in proc.stderr
    reason = proc.stderr.strip().splitlines()[1:]
    assert 1 <= len(reason) <= 13 and any("python" in line for line in reason)
    assert not (sandbox.root / "e_3_4").exists()


def test_unknown_package_is_exit_1(sandbox: Sandbox, demo_channel: Path) -> None:
    proc = sandbox.run("create", "e", "--with", "no-such-package", "-c", str(demo_channel))
    assert_clean_failure(proc, 1)
    assert "no-such-package" in proc.stderr
    assert not (sandbox.root / "e").exists()


@pytest.mark.parametrize("command", [["verify", "nope"], ["remove", "nope", "--yes"]])
def test_commands_on_a_missing_environment(sandbox: Sandbox, command: list[str]) -> None:
    proc = sandbox.run(*command)
    assert_clean_failure(proc, 1)
    assert "mambaboot list" in proc.stderr


def test_verbose_shows_the_traceback(sandbox: Sandbox) -> None:
    proc = sandbox.run("verify", "nope", "-v")
    assert proc.returncode == 1 and "Traceback" in proc.stderr


def test_usage_errors_point_at_the_commands_help_and_speak_json(sandbox: Sandbox) -> None:
    import json

    proc = sandbox.run("create", "env", "--frobnicate", "--json")
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["exit_code"] == 2 and doc["command"] == "create"
    assert doc["error"]["type"] == "UsageError" and "--frobnicate" in doc["error"]["message"]
    assert "see 'mambaboot create --help'" in proc.stderr
    proc = sandbox.run("list", "--bogus")
    assert proc.returncode == 2 and "see 'mambaboot list --help'" in proc.stderr
    assert proc.stdout == ""  # no --json, no document


def test_a_reader_that_goes_away_is_not_an_error_message(sandbox: Sandbox) -> None:
    import subprocess
    import sys

    for i in range(3):
        (sandbox.root / f"e{i}" / ".mambaboot").mkdir(parents=True)
        (sandbox.root / f"e{i}" / ".mambaboot" / "env.json").write_text("{}")
    proc = subprocess.Popen([sys.executable, "-m", "mambaboot", "list", "--json"],
                            env=sandbox.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like '| head -0': the pipe is closed before anything is read
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Unexpected error" not in err and "Traceback" not in err


def test_names_that_look_like_versions_and_python_2_say_what_to_do(sandbox: Sandbox) -> None:
    proc = sandbox.run("create", "3.11")
    assert proc.returncode == 2 and "mambaboot create py 3.11" in proc.stderr, proc.stderr
    proc = sandbox.run("create", "old", "2.7")
    assert proc.returncode == 2 and "Python 3" in proc.stderr and "3.12" in proc.stderr


def test_printed_commands_are_quoted_for_the_shell(sandbox: Sandbox, demo_channel: Path) -> None:
    """The root has spaces: the hint must paste as one argument."""
    import shlex

    proc = sandbox.run("create", "q", "--no-managers", "-c", str(demo_channel), check=True)
    line = next(x for x in proc.stdout.splitlines() if "mambaboot shell" in x)
    assert shlex.split(line.strip()) == ["mambaboot", "shell", str(sandbox.root / "q")]
    again = sandbox.run("create", "q", "--no-managers", "-c", str(demo_channel))
    assert again.returncode == 1
    quoted = shlex.quote(str(sandbox.root / "q"))
    assert f"mambaboot remove {quoted}" in again.stderr


def test_a_missing_bundle_says_it_does_not_exist(sandbox: Sandbox, tmp_path: Path) -> None:
    proc = sandbox.run("create", "b", "--from-bundle", str(tmp_path / "missing.tar"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr, proc.stderr


def test_remove_without_yes_and_with_stdin_closed_is_a_refusal(
        sandbox: Sandbox, demo_channel: Path) -> None:
    import subprocess
    import sys

    (sandbox.root / "keep" / ".mambaboot").mkdir(parents=True)
    (sandbox.root / "keep" / ".mambaboot" / "env.json").write_text("{}")
    proc = subprocess.run([sys.executable, "-m", "mambaboot", "remove", "keep"],
                          env=sandbox.env, capture_output=True, text=True, stdin=None,
                          close_fds=True, preexec_fn=lambda: __import__("os").close(0),
                          timeout=60, check=False)
    assert proc.returncode == 2 and "--yes" in proc.stderr, proc.stderr
    assert "Unexpected error" not in proc.stderr
    assert (sandbox.root / "keep").exists()


@needs_pty
def test_ctrl_d_at_the_remove_prompt_is_a_no(sandbox: Sandbox) -> None:
    import sys

    import pexpect

    (sandbox.root / "keep" / ".mambaboot").mkdir(parents=True)
    (sandbox.root / "keep" / ".mambaboot" / "env.json").write_text("{}")
    child = pexpect.spawn(sys.executable, ["-m", "mambaboot", "remove", "keep"],
                          env=sandbox.env, encoding="utf-8", timeout=60)
    child.expect_exact("[y/N]")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1 and "Nothing removed" in (child.before or "")
    assert "Unexpected error" not in (child.before or "")
    assert (sandbox.root / "keep").exists()
