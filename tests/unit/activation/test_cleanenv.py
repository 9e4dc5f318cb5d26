from __future__ import annotations

import os

import pytest

from mambaboot.activation.cleanenv import active_variables, require_clean_shell, scrubbed_environ
from mambaboot.errors import ActiveEnvironmentError


@pytest.mark.parametrize("var", ["CONDA_PREFIX", "CONDA_SHLVL", "PYTHONHOME", "PYTHONPATH",
                                 "VIRTUAL_ENV"])
def test_each_active_variable_is_named(var: str) -> None:
    with pytest.raises(ActiveEnvironmentError) as info:
        require_clean_shell({var: "1", "PATH": "/bin"})
    assert info.value.exit_code == 2
    fix = {"CONDA_PREFIX": "conda deactivate", "CONDA_SHLVL": "conda deactivate",
           "VIRTUAL_ENV": "deactivate"}.get(var, f"unset {var}")
    assert var in info.value.message and f"run '{fix}'" in info.value.message


def test_all_found_variables_are_listed() -> None:
    assert active_variables({"CONDA_PREFIX": "/x", "VIRTUAL_ENV": "/v"}) == ["CONDA_PREFIX",
                                                                            "VIRTUAL_ENV"]


def test_conda_init_leftover_shlvl_zero_and_empty_values_are_clean() -> None:
    require_clean_shell({"CONDA_SHLVL": "0", "PYTHONPATH": ""})


def test_scrubbed_environ_drops_steering_variables() -> None:
    env = scrubbed_environ({"CONDA_PREFIX": "x", "MAMBA_ROOT_PREFIX": "y", "PYTHONPATH": "z",
                            "PATH": "/bin", "HOME": "/h"}, keep=("MAMBA_ROOT_PREFIX",))
    assert env == {"PATH": "/bin", "HOME": "/h", "MAMBA_ROOT_PREFIX": "y"}


def test_mambaboot_env_alone_means_an_environment_is_active() -> None:
    """Inside 'mambaboot shell' only MAMBABOOT_ENV may be set (no CONDA_PREFIX)."""
    assert active_variables({"MAMBABOOT_ENV": "/envs/x", "PATH": "/bin"}) == ["MAMBABOOT_ENV"]
    with pytest.raises(ActiveEnvironmentError, match="MAMBABOOT_ENV is set"):
        require_clean_shell({"MAMBABOOT_ENV": "/envs/x"})


def test_only_conda_shlvl_has_an_inactive_zero() -> None:
    assert active_variables({"CONDA_SHLVL": " 0 "}) == []
    assert active_variables({"CONDA_SHLVL": "1"}) == ["CONDA_SHLVL"]
    assert active_variables({"PYTHONPATH": "0", "VIRTUAL_ENV": "0"}) == ["PYTHONPATH",
                                                                      "VIRTUAL_ENV"]


def test_the_fix_named_fits_the_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mambaboot.activation.cleanenv.IS_WINDOWS", True)
    with pytest.raises(ActiveEnvironmentError, match="run 'set PYTHONPATH='"):
        require_clean_shell({"PYTHONPATH": "C:/v"})
    monkeypatch.setattr("mambaboot.activation.cleanenv.IS_WINDOWS", False)
    with pytest.raises(ActiveEnvironmentError, match="run 'unset PYTHONPATH'"):
        require_clean_shell({"PYTHONPATH": "/v"})
    with pytest.raises(ActiveEnvironmentError, match="run 'conda deactivate' then 'deactivate'"):
        require_clean_shell({"CONDA_PREFIX": "/c", "VIRTUAL_ENV": "/v"})


def test_the_real_environment_is_read_when_none_is_given(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CONDA_PREFIX", "CONDA_SHLVL", "PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV",
                "MAMBABOOT_ENV"):
        monkeypatch.delenv(var, raising=False)
    require_clean_shell()
    monkeypatch.setenv("VIRTUAL_ENV", "/v")
    assert active_variables() == ["VIRTUAL_ENV"]
    monkeypatch.setenv("CONDARC", "/c")
    assert "VIRTUAL_ENV" not in scrubbed_environ() and "CONDARC" not in scrubbed_environ()


@pytest.mark.parametrize("var", ["VIRTUAL_ENV", "VIRTUAL_ENV_PROMPT", "CONDARC", "MAMBARC",
                                 "CONDA_SHLVL", "PYTHONHOME", "PYTHONSTARTUP", "conda_prefix",
                                 "Mamba_Root_Prefix"])
def test_every_steering_variable_is_scrubbed(var: str) -> None:
    assert scrubbed_environ({var: "x", "PATH": "/bin"}) == {"PATH": "/bin"}


# --- added for the mutation run (docs/security.md) ---

@pytest.fixture
def in_venv(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """mambaboot running from the venv ``tmp_path/venv`` (its bin on PATH)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    monkeypatch.setattr("sys.prefix", str(venv))
    monkeypatch.setattr("sys.base_prefix", str(tmp_path / "base"))
    monkeypatch.setattr("sys.platform", "linux")
    return venv


def test_our_own_venv_is_not_an_active_environment(in_venv) -> None:
    from mambaboot.activation.cleanenv import own_venv

    assert own_venv({"VIRTUAL_ENV": str(in_venv) + "/."}) == str(in_venv) + "/."
    assert active_variables({"VIRTUAL_ENV": str(in_venv)}) == []
    assert active_variables({"VIRTUAL_ENV": str(in_venv.parent)}) == ["VIRTUAL_ENV"]
    assert own_venv({"VIRTUAL_ENV": str(in_venv.parent / "gone")}) is None
    assert own_venv({}) is None


def test_a_venv_is_never_ours_when_we_run_outside_one(in_venv, monkeypatch) -> None:
    from mambaboot.activation.cleanenv import own_venv

    monkeypatch.setattr("sys.base_prefix", str(in_venv))
    assert own_venv({"VIRTUAL_ENV": str(in_venv)}) is None
    assert active_variables({"VIRTUAL_ENV": str(in_venv)}) == ["VIRTUAL_ENV"]


def test_own_venv_reads_the_real_environment_by_default(in_venv, monkeypatch) -> None:
    from mambaboot.activation.cleanenv import own_venv

    monkeypatch.setenv("VIRTUAL_ENV", str(in_venv))
    assert own_venv() == str(in_venv)


def test_children_get_no_trace_of_our_venv(in_venv, tmp_path) -> None:
    from mambaboot.activation.cleanenv import tool_free

    other = tmp_path / "other"
    other.mkdir()
    env = tool_free({"VIRTUAL_ENV": str(in_venv), "VIRTUAL_ENV_PROMPT": "(venv)",
                     "PYTHONPATH": "/p", "PYTHONHOME": "/h", "HOME": "/home/u",
                     "PATH": os.pathsep.join([str(in_venv / "bin"), str(other), "", "/gone"])})
    assert env == {"HOME": "/home/u", "PATH": os.pathsep.join([str(other), "/gone"])}


def test_outside_a_venv_children_only_lose_python_variables(in_venv, monkeypatch) -> None:
    from mambaboot.activation.cleanenv import tool_free

    monkeypatch.setattr("sys.base_prefix", str(in_venv))
    assert tool_free({"PYTHONPATH": "/p", "PATH": str(in_venv / "bin"), "VIRTUAL_ENV": "/v"}) == {
        "PATH": str(in_venv / "bin"), "VIRTUAL_ENV": "/v"}


def test_the_refusal_is_one_exact_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    with pytest.raises(ActiveEnvironmentError) as info:
        require_clean_shell({"MAMBABOOT_ENV": "/e"})
    assert info.value.message == (
        "An environment is already active in this shell (MAMBABOOT_ENV is set); one environment "
        "per shell: run 'exit' (leaves 'mambaboot shell'; after sourcing activate.*, run "
        "'deactivate'), then try again.")
    with pytest.raises(ActiveEnvironmentError) as info:
        require_clean_shell({"CONDA_PREFIX": "/c", "CONDA_SHLVL": "1", "PYTHONPATH": "/p"})
    assert info.value.message == (
        "An environment is already active in this shell (CONDA_PREFIX, CONDA_SHLVL, PYTHONPATH "
        "are set); one environment per shell: run 'conda deactivate' then 'unset PYTHONPATH', "
        "then try again.")


def test_inside_a_mambaboot_shell_the_one_fix_is_exit() -> None:
    with pytest.raises(ActiveEnvironmentError) as info:
        require_clean_shell({"MAMBABOOT_ENV": "/e", "CONDA_PREFIX": "/e", "CONDA_SHLVL": "1"})
    assert "run 'exit'" in info.value.message
    assert "conda deactivate" not in info.value.message
