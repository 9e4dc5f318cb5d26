"""``mambaboot shell``: driven through a pseudo-terminal (pexpect) in bash, zsh and fish.

cmd.exe and PowerShell are covered by the command line they are given
(``/D /K``, ``-NoExit -NoProfile``); activate.bat itself runs under wine in
tests/activation. PowerShell is never executed here (not installable).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pexpect
import pytest

from mambaboot.activation import shell
from mambaboot.devchannel import PYTHON_VERSION
from mambaboot.errors import ActiveEnvironmentError, UsageError
from tests.support.marks import needs_pty
from tests.support.sandbox import Sandbox, demo_env
from tests.support.scratch import scratch_dir

PYVER = ".".join(PYTHON_VERSION.split(".")[:2])
ENVDIR = "demo_" + PYVER.replace(".", "_")
PROMPT = f"({ENVDIR}) "


@pytest.fixture(scope="module")
def made(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         demo_channel: Path) -> tuple[Sandbox, Path]:
    """One real environment (python + conda + mamba + demo-activate) for the whole module."""
    return demo_env(scratch_dir(request, tmp_path_factory, "shell"), demo_channel)


def spawn_shell(sandbox: Sandbox, prefix: Path, name: str) -> pexpect.spawn:
    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed")
    child = pexpect.spawn(sys.executable, ["-m", "mambaboot", "shell", str(prefix), "--shell",
                                           name], env={**sandbox.env, "TERM": "dumb"},
                          encoding="utf-8", timeout=30, dimensions=(40, 500))
    child.expect_exact(PROMPT)
    return child


def ask(child: pexpect.spawn, expression: str) -> str:
    """Print ``expression`` between markers the echoed command line cannot match."""
    child.sendline(f'echo "<""<{expression}>"">"')
    child.expect(r"<<(.*)>>\r?\n")
    return child.match.group(1)


@pytest.mark.parametrize("name", ["bash", "zsh", "fish"])
@needs_pty
def test_shell_starts_with_the_env_active_and_exit_returns(made: tuple[Sandbox, Path],
                                                           name: str) -> None:
    sandbox, prefix = made
    child = spawn_shell(sandbox, prefix, name)
    assert ask(child, "$CONDA_PREFIX") == str(prefix)
    assert ask(child, "$DEMO_ACTIVATED") == "1"  # demo-activate's activate.d ran
    assert ask(child, "$MAMBABOOT_ENV") == str(prefix)
    child.sendline("command -v python" if name != "fish" else "command -s python")
    child.expect_exact(str(prefix / "bin" / "python"))
    child.sendline("exit 3")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3  # the shell's exit code is passed back
    assert not list((prefix / ".mambaboot").glob("shell-*"))  # startup files cleaned up


@needs_pty
def test_nesting_is_refused_and_the_parent_shell_is_unchanged(
        made: tuple[Sandbox, Path]) -> None:
    sandbox, prefix = made
    parent = pexpect.spawn("bash", ["--norc", "--noprofile"],
                           env={**sandbox.env, "PS1": "parent$ ", "TERM": "dumb"},
                           encoding="utf-8", timeout=30, dimensions=(40, 500))
    parent.expect_exact("parent$ ")
    before = ask(parent, "$PATH|${CONDA_PREFIX-unset}|$PS1")
    parent.sendline(f'"{sys.executable}" -m mambaboot shell "{prefix}" --shell bash')
    parent.expect_exact(PROMPT)
    # inside: a second shell (same or other env) is refused, and says how to get out
    parent.sendline(f'"{sys.executable}" -m mambaboot shell "{prefix}" --shell bash; '
                    'echo "rc=$?"')
    parent.expect("already inside the environment")
    parent.expect_exact("type 'exit' to leave it first")
    parent.expect("rc=2")
    parent.sendline("exit")
    parent.expect_exact("parent$ ")
    assert ask(parent, "$PATH|${CONDA_PREFIX-unset}|$PS1") == before
    parent.sendline("exit")
    parent.expect(pexpect.EOF)


def test_refuses_when_conda_is_active(made: tuple[Sandbox, Path]) -> None:
    sandbox, prefix = made
    proc = sandbox.run("shell", str(prefix), "--shell", "bash",
                       env={**sandbox.env, "CONDA_PREFIX": "/opt/conda"})
    assert proc.returncode == 2 and "CONDA_PREFIX" in proc.stderr
    with pytest.raises(ActiveEnvironmentError, match="exit"):
        shell.refuse_nesting({"MAMBABOOT_ENV": str(prefix)})


def test_cmd_and_powershell_command_lines_not_executed(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    """What cmd.exe and PowerShell are started with (not run here: no Windows)."""
    monkeypatch.setattr(shell, "_find", lambda name: f"C:\\Windows\\{name}.exe")
    prefix = tmp_path / "R&D o'k"
    cmd = shell.build("cmd", prefix, tmp_path, environ={})
    assert cmd.argv == '"C:\\Windows\\cmd.exe" /D /V:OFF /K call "%_MAMBABOOT_ACTIVATE%"'
    assert cmd.env["_MAMBABOOT_ACTIVATE"] == str(prefix / "activate.bat")
    ps = shell.build("powershell", prefix, tmp_path, environ={})
    assert ps.argv[1:4] == ["-NoLogo", "-NoExit", "-NoProfile"]
    assert ps.argv[-1] == ". '" + str(prefix / "activate.ps1").replace("'", "''") + "'"
    assert "-NoProfile" not in shell.build("powershell", prefix, tmp_path, rc=True,
                                           environ={}).argv


def test_default_shell_is_detected_or_the_platform_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import shellingham

    monkeypatch.setattr(shellingham, "detect_shell", lambda: ("zsh", "/bin/zsh"))
    assert shell.detect_shell() == "zsh"
    monkeypatch.setattr(shellingham, "detect_shell", lambda: ("pwsh", "/usr/bin/pwsh"))
    assert shell.detect_shell() == "powershell"

    def fail() -> tuple[str, str]:
        raise shellingham.ShellDetectionFailure

    monkeypatch.setattr(shellingham, "detect_shell", fail)
    assert shell.detect_shell({"SHELL": "/usr/bin/fish"}) == "fish"
    assert shell.detect_shell({"SHELL": "/bin/tcsh"}) == ("cmd" if shell.IS_WINDOWS
                                                          else "bash")


def test_unknown_or_missing_shell_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not installed"):
        shell.build("fish" if shutil.which("fish") is None else "cmd", tmp_path, tmp_path)


@pytest.mark.parametrize("name", ["bash", "zsh", "fish"])
def test_piped_commands_run_activated_without_job_control_noise(
        made: tuple[Sandbox, Path], name: str) -> None:
    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed")
    sandbox, prefix = made
    proc = sandbox.run("shell", str(prefix), "--shell", name,
                       input='echo "prefix=$CONDA_PREFIX"\nconda activate base\nexit 4\n')
    assert "'conda activate' is not used inside a mambaboot environment" in proc.stderr
    assert f"prefix={prefix}" in proc.stdout
    assert proc.returncode == 4
    assert "job control" not in proc.stderr and "terminal process group" not in proc.stderr
    assert proc.stderr.count("\n") <= 4, proc.stderr  # "entering ..." and the refusal


def test_a_refusal_never_says_entering(made: tuple[Sandbox, Path]) -> None:
    sandbox, prefix = made
    proc = sandbox.run("shell", str(prefix), env={**sandbox.env, "CONDA_PREFIX": "/elsewhere"})
    assert proc.returncode == 2 and "entering" not in proc.stderr
