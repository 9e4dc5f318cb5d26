"""Progress of create and remove: live rows on a terminal, one line per phase with -v, else quiet.

Runs the real CLI on a pseudo-terminal (pexpect) and through pipes. Only what
is shown is asserted (phase names, counts, the byte rate's form), never how
long anything took.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pexpect
import pytest

from tests.support.marks import needs_pty
from tests.support.sandbox import Sandbox

#: Shown on a terminal while a create runs, one row each (the rows stay until the end).
CREATE_ROWS = (
    "Solved: ", "Downloading packages", "Checking packages", "Linking packages",
    "Writing the lockfile",  # (no link scan row: the engine checked its symlinks, issue 15)
    "Linking the cache and writing activation scripts", "Testing the new environment",
)
#: The -v lines of a create from an HTTP channel, in order.
CREATE_LINES = (
    r"solving python, pip", r"checking \d+ packages?", r"downloading \d+ packages?",
    r"linking \d+ packages?", r"linking the cache and writing activation scripts",
    r"testing the new environment", r"writing the lockfile",  # the lock while the test runs
)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything but \t and \n
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _spawn(sandbox: Sandbox, *args: str) -> str:
    """Run the CLI on a wide pseudo-terminal; return all it wrote, escape codes removed."""
    child = pexpect.spawn(sys.executable, ["-m", "mambaboot", *args],
                          env={**sandbox.env, "TERM": "xterm", "COLUMNS": "200"},
                          cwd=str(sandbox.base), encoding="utf-8", timeout=300,
                          dimensions=(60, 200))
    child.expect(pexpect.EOF)
    child.close()
    out = ANSI.sub("", child.before or "")
    assert child.exitstatus == 0, out[-2000:]
    return out


def _phase_lines(stderr: str) -> list[str]:
    return [line.removeprefix("mambaboot: ") for line in stderr.splitlines()
            if line.startswith("mambaboot: ") and "warning:" not in line]


@needs_pty
def test_a_create_on_a_terminal_shows_every_phase_and_its_counts(
        sandbox: Sandbox, demo_channel_url: str) -> None:
    out = _spawn(sandbox, "create", "tty", "--no-managers", "-c", demo_channel_url)
    for row in CREATE_ROWS:
        assert row in out, f"no {row!r} row in:\n{out[-3000:]}"
    assert re.search(r"Downloading packages.*\d+(\.\d)? (B|KiB|MiB) at \d+(\.\d)? (B|KiB|MiB)/s",
                     out), "downloads over HTTP show bytes and a rate"
    solved = re.search(r"Solved: (\d+) packages", out)
    assert solved, "the solve reports how many packages"
    n = solved.group(1)
    assert re.search(rf"Checking packages.* {n}/{n}", out), "packages checked are counted"
    assert re.search(rf"Linking packages.* {n}/{n}", out), "packages linked are counted"
    assert "Created " in out

    removed = _spawn(sandbox, "remove", "tty", "--yes")
    assert "Deleting files" in removed
    assert re.search(r"Deleting files.* \d+/\d+", removed), "files deleted are counted"
    assert "Removed " in removed and not (sandbox.root / "tty").exists()


def test_verbose_without_a_terminal_prints_one_plain_line_per_phase(
        sandbox: Sandbox, demo_channel_url: str) -> None:
    proc = sandbox.run("create", "logged", "--no-managers", "-c", demo_channel_url, "-v",
                       check=True)
    assert not CONTROL.search(proc.stderr), repr(proc.stderr)  # no bars, no carriage returns
    lines = _phase_lines(proc.stderr)
    assert len(lines) == len(CREATE_LINES), lines
    for line, pattern in zip(lines, CREATE_LINES, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)
    assert "Created " in proc.stdout and "mambaboot:" not in proc.stdout

    removed = sandbox.run("remove", "logged", "--yes", "-v", check=True)
    assert not CONTROL.search(removed.stderr), repr(removed.stderr)
    lines = _phase_lines(removed.stderr)
    assert lines[0] == "counting files"
    assert re.fullmatch(r"deleting \d+ files", lines[1]) and len(lines) == 2, lines


def test_without_a_terminal_nothing_but_warnings_reaches_stderr(
        sandbox: Sandbox, demo_channel_url: str) -> None:
    proc = sandbox.run("create", "piped", "--no-managers", "-c", demo_channel_url, check=True)
    assert proc.stderr == ""
    removed = sandbox.run("remove", "piped", "--yes", check=True)
    assert removed.stderr == ""


@pytest.mark.parametrize("flag", ["--json", "-q"])
def test_json_and_quiet_show_no_progress_even_with_verbose(
        sandbox: Sandbox, demo_channel_url: str, flag: str) -> None:
    proc = sandbox.run("create", "scripted", "--no-managers", "-c", demo_channel_url, flag, "-v",
                       check=True)
    assert proc.stderr == ""
    if flag == "--json":
        assert json.loads(proc.stdout)["ok"] is True  # one JSON document, nothing around it
    else:
        assert proc.stdout == ""
    removed = sandbox.run("remove", "scripted", "--yes", flag, "-v", check=True)
    assert removed.stderr == ""
    if flag == "--json":
        assert json.loads(removed.stdout)["result"]["removed"] is True


@needs_pty
def test_json_on_a_terminal_prints_no_progress(sandbox: Sandbox, demo_channel: Path) -> None:
    out = _spawn(sandbox, "create", "j", "--no-managers", "-c", str(demo_channel), "--json")
    assert json.loads(out)["ok"] is True
