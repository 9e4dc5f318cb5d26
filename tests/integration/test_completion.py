"""Tab completion: printed by a command, answered by the real parser, in real shells."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.sandbox import Sandbox

TOOL_BIN = str(Path(sys.executable).parent)  # where the suite's `mambaboot` script lives


def shell_env(sandbox: Sandbox) -> dict[str, str]:
    return {**sandbox.env, "PATH": TOOL_BIN + os.pathsep + sandbox.env.get("PATH", "")}


def made_env(sandbox: Sandbox, name: str) -> None:
    (sandbox.root / name / ".mambaboot").mkdir(parents=True)
    (sandbox.root / name / ".mambaboot" / "env.json").write_text("{}")


BASH = """source <(mambaboot completion bash)
complete_line() {
    COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$1"
    [[ "$1" == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    _python_argcomplete mambaboot; echo "${COMPREPLY[*]}"
}
complete_line "mambaboot cre"
complete_line "mambaboot create --no-m"
complete_line "mambaboot verify my"
complete_line "mambaboot completion "
"""


def test_bash_completes_commands_options_and_environment_names(sandbox: Sandbox) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    made_env(sandbox, "my_env_3_12")
    (sandbox.root / "my_folder").mkdir()  # not an environment: never offered
    proc = subprocess.run(["bash", "-c", BASH], env=shell_env(sandbox), capture_output=True,
                          text=True, check=True, cwd=sandbox.base, timeout=60)
    lines = [line.strip() for line in proc.stdout.splitlines()]
    assert lines[:3] == ["create", "--no-managers", "my_env_3_12"], lines
    assert {"bash", "zsh", "fish", "powershell"} <= set(lines[3].split()), lines
    sandbox.assert_user_dirs_untouched()


def test_fish_completes_from_the_same_parser(sandbox: Sandbox) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    made_env(sandbox, "demo_env")
    script = ("mambaboot completion fish | source; complete -C'mambaboot sh'; "
              "complete -C'mambaboot remove dem'")
    proc = subprocess.run(["fish", "--no-config", "-c", script], env=shell_env(sandbox),
                          capture_output=True, text=True, check=True, cwd=sandbox.base,
                          timeout=60)
    words = [line.split("\t")[0] for line in proc.stdout.splitlines()]
    assert words == ["shell", "demo_env"], proc.stdout


@pytest.mark.parametrize("shell", ["zsh", "powershell"])
def test_the_other_scripts_are_printed_and_name_the_tool(sandbox: Sandbox, shell: str) -> None:
    proc = sandbox.run("completion", shell, check=True)
    assert "mambaboot" in proc.stdout and "_ARGCOMPLETE" in proc.stdout
    if shell == "zsh" and shutil.which("zsh"):
        parsed = subprocess.run(["zsh", "-n"], input=proc.stdout, text=True, check=False,
                                capture_output=True)
        assert parsed.returncode == 0, parsed.stderr
    sandbox.assert_user_dirs_untouched()


def test_an_unknown_shell_is_a_usage_error(sandbox: Sandbox) -> None:
    proc = sandbox.run("completion", "tcsh")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
