from __future__ import annotations

import pytest

from mambaboot.cleanenv import active_variables, require_clean_shell, scrubbed_environ
from mambaboot.errors import ActiveEnvironmentError


@pytest.mark.parametrize("var", ["CONDA_PREFIX", "CONDA_SHLVL", "PYTHONHOME", "PYTHONPATH",
                                 "VIRTUAL_ENV"])
def test_each_active_variable_is_named(var: str) -> None:
    with pytest.raises(ActiveEnvironmentError) as info:
        require_clean_shell({var: "1", "PATH": "/bin"})
    assert info.value.exit_code == 2
    assert var in info.value.message and "deactivate" in info.value.message


def test_all_found_variables_are_listed() -> None:
    assert active_variables({"CONDA_PREFIX": "/x", "VIRTUAL_ENV": "/v"}) == ["CONDA_PREFIX",
                                                                            "VIRTUAL_ENV"]


def test_conda_init_leftover_shlvl_zero_and_empty_values_are_clean() -> None:
    require_clean_shell({"CONDA_SHLVL": "0", "PYTHONPATH": ""})


def test_scrubbed_environ_drops_steering_variables() -> None:
    env = scrubbed_environ({"CONDA_PREFIX": "x", "MAMBA_ROOT_PREFIX": "y", "PYTHONPATH": "z",
                            "PATH": "/bin", "HOME": "/h"}, keep=("MAMBA_ROOT_PREFIX",))
    assert env == {"PATH": "/bin", "HOME": "/h", "MAMBA_ROOT_PREFIX": "y"}
