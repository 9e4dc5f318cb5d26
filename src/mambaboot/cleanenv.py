"""The one-environment-per-shell rule, and the scrubbed environment children get.

Starting from a shell where conda, a venv or PYTHONPATH is already in effect is
how environments end up importing each other's packages; refusing up front,
with the variable named, is cheaper than debugging that later.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from mambaboot.errors import ActiveEnvironmentError

#: Variables that mean "something is already active in this shell".
ACTIVE_VARS = ("CONDA_PREFIX", "CONDA_SHLVL", "PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV",
               "MAMBABOOT_ENV")


def active_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """Names of the variables that show an environment is active.

    ``CONDA_SHLVL=0`` is what ``conda init`` leaves when nothing is activated,
    so it does not count; every other non-empty value does.
    """
    env = os.environ if environ is None else environ
    found = []
    for var in ACTIVE_VARS:
        value = env.get(var, "")
        if value and not (var == "CONDA_SHLVL" and value.strip() == "0"):
            found.append(var)
    return found


def require_clean_shell(environ: Mapping[str, str] | None = None) -> None:
    found = active_variables(environ)
    if not found:
        return
    names = ", ".join(found)
    if sys.platform == "win32":
        how = "open a new cmd.exe with 'cmd /d' (no AutoRun) or run 'conda deactivate' first"
    else:
        how = "run 'conda deactivate'/'deactivate' or start a clean shell with 'env -u VAR bash'"
    raise ActiveEnvironmentError(
        f"An environment is already active in this shell ({names} is set); "
        f"one environment per shell: {how}, then try again."
    )


#: Prefixes of variables that would make a child conda/mamba/python read the
#: user's configuration or another environment instead of ours.
SCRUB_PREFIXES = ("CONDA", "MAMBA", "PYTHON", "VIRTUAL_ENV")  # CONDARC, MAMBARC too


def scrubbed_environ(environ: Mapping[str, str] | None = None,
                     keep: tuple[str, ...] = ()) -> dict[str, str]:
    """A copy of the environment without conda/mamba/python steering variables."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items()
            if k in keep or not k.upper().startswith(SCRUB_PREFIXES)}
