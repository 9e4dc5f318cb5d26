"""activate.sh (bash, zsh) and activate.fish, executed for real in each shell."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.prefixes import clean_environ

SHELLS = ("bash", "zsh", "fish")
SEP = "\0--mambaboot--\0"
PRINT_SEP = r"printf '\0--mambaboot--\0'"


def source_line(shell: str) -> str:
    if shell == "fish":
        return "source $argv[1]/activate.fish"
    return '. "$1/activate.sh"'


def activate_and_deactivate(shell: str, prefix: Path, home: Path,
                            extra_env: dict[str, str] | None = None,
                            ) -> tuple[dict[str, str], dict[str, str], dict[str, str], str]:
    """Environment before, while active, after deactivate (from ``env -0``); and stderr."""
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    script = f"env -0; {PRINT_SEP}; {source_line(shell)}; env -0; {PRINT_SEP}; "
    script += "deactivate; env -0"
    argv = [shell, "-c", script, str(prefix)] if shell == "fish" else [
        shell, "-c", script, shell, str(prefix)]
    env = {**clean_environ(home), **(extra_env or {})}
    proc = subprocess.run(argv, capture_output=True, env=env, timeout=60, check=False,
                          stdin=subprocess.DEVNULL)
    parts = proc.stdout.decode("utf-8").split(SEP)
    assert len(parts) == 3, proc.stderr.decode()
    dicts = [dict(item.split("=", 1) for item in part.split("\0") if "=" in item)
             for part in parts]
    return dicts[0], dicts[1], dicts[2], proc.stderr.decode()


def same(a: str, b: Path) -> bool:
    return Path(a).resolve() == b.resolve()


@pytest.mark.parametrize("shell", SHELLS)
def test_activate_sets_path_order_prefix_and_activate_d_then_deactivate_restores(
        shell: str, prefix: Path, home: Path) -> None:
    before, active, after, err = activate_and_deactivate(shell, prefix, home)
    entries = active["PATH"].split(":")
    assert [Path(e) for e in entries[:2]] == [prefix / "bin", prefix / "condabin"], err
    assert same(active["CONDA_PREFIX"], prefix) and same(active["MAMBABOOT_ENV"], prefix)
    assert (active["CONDA_DEFAULT_ENV"], active["CONDA_SHLVL"]) == ("demo", "1")
    assert active["CONDA_PROMPT_MODIFIER"] == "(demo) "
    assert active["DEMO_ACTIVATED"] == "1"  # the package's activate.d script ran
    assert same(active["DEMO_HOME"], prefix / "share" / "demo")
    assert after["PATH"] == before["PATH"]
    for var in ("CONDA_PREFIX", "MAMBABOOT_ENV", "CONDA_SHLVL", "DEMO_ACTIVATED",
                "_MAMBABOOT_OLD_PATH"):
        assert var not in after
    assert after.keys() - {"_"} == before.keys() - {"_"}


@pytest.mark.parametrize("shell", SHELLS)
def test_scripts_still_work_after_the_root_is_moved(shell: str, prefix: Path, home: Path,
                                                    tmp_path: Path) -> None:
    moved_root = tmp_path / "moved èрт 中 & co"
    prefix.parent.rename(moved_root)
    moved = moved_root / prefix.name
    _, active, _, err = activate_and_deactivate(shell, moved, home)
    assert same(active["CONDA_PREFIX"], moved), err
    assert Path(active["PATH"].split(":")[0]) == moved / "bin"
    assert same(active["DEMO_HOME"], moved / "share" / "demo")


@pytest.mark.parametrize("shell", SHELLS)
def test_script_works_when_sourced_by_relative_path(shell: str, prefix: Path,
                                                    home: Path) -> None:
    script = "source ./activate.fish" if shell == "fish" else ". ./activate.sh"
    proc = subprocess.run([shell, "-c", f"{script}; echo \"$CONDA_PREFIX\""], cwd=prefix,
                          env=clean_environ(home), capture_output=True, text=True, timeout=60,
                          check=False)
    assert same(proc.stdout.strip(), prefix), proc.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_activation_refuses_inside_an_active_environment(shell: str, prefix: Path,
                                                         home: Path) -> None:
    line = source_line(shell)
    argv = ([shell, "-c", f"{line}; echo status=$status", str(prefix)] if shell == "fish"
            else [shell, "-c", f"{line}; echo status=$?", shell, str(prefix)])
    env = {**clean_environ(home), "CONDA_PREFIX": "/somewhere/else"}
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert "status=1" in proc.stdout
    assert "already active" in proc.stderr


def test_activate_sh_must_be_sourced(prefix: Path, home: Path) -> None:
    proc = subprocess.run(["bash", str(prefix / "activate.sh")], env=clean_environ(home),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 33 and "must be sourced" in proc.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_conda_activate_inside_is_one_clear_refusal_and_other_commands_pass(
        shell: str, prefix: Path, home: Path) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    conda = prefix / "bin" / "conda"  # the env's own conda answers everything else
    conda.parent.mkdir(exist_ok=True)
    conda.write_text("#!/bin/sh\necho \"conda-of-the-env $*\"\n")
    conda.chmod(0o755)
    probe = (f"{source_line(shell)}; conda activate base; echo rc=$status; "
             "conda --version; deactivate; functions -q conda; echo gone=$status"
             if shell == "fish" else
             f"{source_line(shell)}; conda activate base; echo rc=$?; conda --version; "
             "deactivate; type conda >/dev/null 2>&1; echo gone=$?")
    argv = [shell, "-c", probe, str(prefix)] if shell == "fish" else [
        shell, "-c", probe, shell, str(prefix)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=clean_environ(home),
                          timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert "rc=1" in proc.stdout, proc.stdout + proc.stderr
    assert "'conda activate' is not used inside a mambaboot environment" in proc.stderr
    assert "mambaboot shell OTHER" in proc.stderr
    assert "conda-of-the-env --version" in proc.stdout
    assert "gone=1" in proc.stdout  # deactivate takes the wrapper away again
