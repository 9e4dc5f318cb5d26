"""``mambaboot doctor`` through the real CLI on a fake HOME (in-process checks: tests/unit)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.sandbox import Sandbox, snapshot

CONDA_BLOCK = """# >>> conda initialize >>>
# !! Contents within this block are managed by 'conda init' !!
__conda_setup="$('/opt/conda/bin/conda' 'shell.bash' 'hook' 2> /dev/null)"
eval "$__conda_setup"
# <<< conda initialize <<<
"""
MAMBA_BLOCK = ("# >>> mamba initialize >>>\neval \"$(micromamba shell hook)\"\n"
               "# <<< mamba initialize <<<\n")


def doctor(sandbox: Sandbox, *args: str, **env: str) -> tuple[int, dict]:
    proc = sandbox.run("doctor", "--json", *args, env={**sandbox.env, "PATH": "/usr/bin:/bin",
                                                     **env})
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["command"] == "doctor" and doc["ok"] is (proc.returncode == 0)
    return proc.returncode, doc["result"]


def kinds(report: dict) -> list[tuple[str, str]]:
    return sorted((f["kind"], f["where"]) for f in report["findings"])


def test_clean_setup_exits_zero(sandbox: Sandbox) -> None:
    code, report = doctor(sandbox)
    assert (code, report["ok"], report["findings"]) == (0, True, [])
    text = sandbox.run("doctor", env={**sandbox.env, "PATH": "/usr/bin:/bin"})
    assert text.returncode == 0 and "No problems found" in text.stdout
    sandbox.assert_user_dirs_untouched()


def test_init_blocks_in_every_shell_profile_are_reported(sandbox: Sandbox) -> None:
    home, user = Path(sandbox.env["HOME"]), Path(sandbox.env["USERPROFILE"])
    config = Path(sandbox.env["XDG_CONFIG_HOME"])
    planted = {
        home / ".bashrc": "alias ll='ls -l'\n" + CONDA_BLOCK,
        home / ".zshrc": MAMBA_BLOCK,
        config / "fish" / "config.fish": "# >>> conda initialize >>>\neval conda\n",
        user / "Documents" / "WindowsPowerShell" / "profile.ps1": "#region conda initialize\n"
        "# >>> conda initialize >>>\n(& conda.exe 'shell.powershell' 'hook') | Out-String\n",
        user / "Documents" / "PowerShell" / "Microsoft.PowerShell_profile.ps1": MAMBA_BLOCK,
        config / "powershell" / "profile.ps1": CONDA_BLOCK,
        home / ".bash_profile": "source ~/.bashrc\n",  # no block: not a finding
    }
    for path, text in planted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in planted}
    files_before = snapshot(sandbox.user_dirs)

    code, report = doctor(sandbox)
    assert code == 1 and not report["ok"]
    found = {f["where"].rsplit(":", 1)[0]: f for f in report["findings"] if f["kind"] == "rc-file"}
    assert set(found) == {str(p) for p in planted if p.name != ".bash_profile"}
    assert found[str(home / ".bashrc")]["where"].endswith(":2")  # the line of the block
    assert "conda init --reverse" in found[str(home / ".bashrc")]["fix"]
    assert "shell deinit" in found[str(home / ".zshrc")]["fix"]
    assert all(f["fix"] for f in report["findings"])
    # read-only: nothing changed or added
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in planted} == before
    assert snapshot(sandbox.user_dirs) == files_before

    text = sandbox.run("doctor", env={**sandbox.env, "PATH": "/usr/bin:/bin"})
    assert text.returncode == 1 and "problem(s) found" in text.stdout and "fix:" in text.stdout


def test_active_variables_are_reported(sandbox: Sandbox) -> None:
    code, report = doctor(sandbox, CONDA_PREFIX="/opt/conda", VIRTUAL_ENV="/v", CONDA_SHLVL="0")
    assert code == 1
    assert kinds(report) == [("active-variable", "CONDA_PREFIX"),
                             ("active-variable", "VIRTUAL_ENV")]


def _exe(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("#!/bin/sh\n")
    (folder / name).chmod(0o755)


def test_conda_and_pythons_ahead_of_an_env_on_path(sandbox: Sandbox, tmp_path: Path) -> None:
    base_conda, other_python = tmp_path / "miniconda" / "condabin", tmp_path / "pyenv" / "bin"
    _exe(base_conda, "conda")
    _exe(other_python, "python3")
    env = sandbox.root / "e"
    (env / ".mambaboot").mkdir(parents=True)
    (env / ".mambaboot" / "env.json").write_text("{}")
    _exe(env / "bin", "python3")
    _exe(env / "bin", "conda")  # the env's own: fine

    path = os.pathsep.join([str(other_python), str(env / "bin"), str(base_conda), "/usr/bin"])
    code, report = doctor(sandbox, PATH=path)
    assert code == 1
    assert kinds(report) == [("path", str(base_conda)), ("path", str(other_python))]
    shadow = next(f for f in report["findings"] if f["where"] == str(other_python))
    assert "shadow" in shadow["problem"] and str(env) in shadow["problem"]


def test_cache_on_another_filesystem(sandbox: Sandbox) -> None:
    other = Path("/dev/shm")
    if not other.is_dir() or other.stat().st_dev == sandbox.root.stat().st_dev:
        pytest.skip("no second filesystem (/dev/shm) to put a cache on")
    code, report = doctor(sandbox, "--cache", str(other / "mambaboot-doctor-test-cache"))
    assert code == 1 and [f["kind"] for f in report["findings"]] == ["cache-filesystem"]
    assert not (other / "mambaboot-doctor-test-cache").exists()  # doctor created nothing
