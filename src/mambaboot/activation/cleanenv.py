"""The one-environment-per-shell rule, and the scrubbed environment children get.

Starting from a shell where conda, a venv or PYTHONPATH is already in effect is
how environments end up importing each other's packages; refusing up front,
with the variable named, is cheaper than debugging that later.
"""

from __future__ import annotations

import os
import sys

from mambaboot.platforms import IS_WINDOWS

TYPE_CHECKING = False  # `run` imports this module: no typing, errors only when raised
if TYPE_CHECKING:
    from collections.abc import Mapping

#: Variables that mean "something is already active in this shell".
ACTIVE_VARS = ("CONDA_PREFIX", "CONDA_SHLVL", "PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV",
               "MAMBABOOT_ENV")


def own_venv(environ: Mapping[str, str] | None = None) -> str | None:
    """The virtualenv mambaboot itself runs from, when it is the one activated.

    Installed with ``pip install`` into an activated venv, mambaboot runs with
    ``VIRTUAL_ENV`` naming its own interpreter's prefix. That is the tool's
    home, not an environment the user entered: refusing it would make the tool
    unusable in the very shell it was installed in (and ``deactivate`` would
    take it off PATH). Another venv than ours is still refused.
    """
    env = os.environ if environ is None else environ
    venv = env.get("VIRTUAL_ENV", "")
    if not venv or sys.prefix == sys.base_prefix:
        return None
    try:
        return venv if os.path.samefile(venv, sys.prefix) else None
    except OSError:
        return None


def active_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """Names of the variables that show an environment is active.

    ``CONDA_SHLVL=0`` is what ``conda init`` leaves when nothing is activated,
    so it does not count; every other non-empty value does. ``VIRTUAL_ENV``
    of mambaboot's own venv does not count either (see ``own_venv``).
    """
    env = os.environ if environ is None else environ
    found = []
    for var in ACTIVE_VARS:
        value = env.get(var, "")
        if not value or (var == "CONDA_SHLVL" and value.strip() == "0"):
            continue
        if var == "VIRTUAL_ENV" and own_venv(env):
            continue
        found.append(var)
    return found


def fix_command(var: str, windows: bool | None = None) -> str:
    """The command that ends what ``var`` shows, ready to paste into the user's shell.

    ``refuse`` and ``doctor`` both use it, so they never suggest different fixes.
    """
    if var in ("CONDA_PREFIX", "CONDA_SHLVL"):
        return "conda deactivate"
    if var == "VIRTUAL_ENV":
        return "deactivate"
    if var == "MAMBABOOT_ENV":
        return "exit"  # a 'mambaboot shell' (or 'deactivate' after sourcing activate.*)
    if windows is None:
        windows = IS_WINDOWS
    return f"set {var}=" if windows else f"unset {var}"


def require_clean_shell(environ: Mapping[str, str] | None = None) -> None:
    found = active_variables(environ)
    if not found:
        return
    names = " and ".join(found) if len(found) < 3 else ", ".join(found)
    # leaving a mambaboot shell clears every variable it set (CONDA_PREFIX included):
    # one 'exit' is the whole fix, and 'conda deactivate' is refused in there anyway
    shown = ["MAMBABOOT_ENV"] if "MAMBABOOT_ENV" in found else found
    fixes = list(dict.fromkeys(fix_command(var) for var in shown))
    how = " then ".join(f"'{fix}'" for fix in fixes)
    where = " (leaves 'mambaboot shell'; after sourcing activate.*, run 'deactivate')" \
        if "MAMBABOOT_ENV" in found else ""
    from mambaboot.errors import ActiveEnvironmentError

    raise ActiveEnvironmentError(
        f"An environment is already active in this shell ({names} "
        f"{'is' if len(found) == 1 else 'are'} set); one environment per shell: run {how}"
        f"{where}, then try again."
    )


def tool_free(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` without mambaboot's own venv: what children of run/shell/verify get.

    The venv's ``bin`` (``Scripts``) on PATH, ``VIRTUAL_ENV`` and
    ``PYTHONPATH``/``PYTHONHOME`` would make a child's ``python`` or ``pip``
    the tool's, not the environment's.
    """
    env = dict(os.environ if environ is None else environ)
    venv = own_venv(env)
    for var in ("PYTHONPATH", "PYTHONHOME"):
        env.pop(var, None)
    if venv is None and sys.prefix == sys.base_prefix:
        return env
    if venv is not None:
        env.pop("VIRTUAL_ENV", None)
        env.pop("VIRTUAL_ENV_PROMPT", None)
    tool_bin = os.path.join(sys.prefix, "Scripts" if IS_WINDOWS else "bin")
    key = next((k for k in env if k.upper() == "PATH"), "PATH")
    kept = [d for d in env.get(key, "").split(os.pathsep) if d and not _same_dir(d, tool_bin)]
    env[key] = os.pathsep.join(kept)
    return env


def _same_dir(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


#: Prefixes of variables that would make a child conda/mamba/python read the
#: user's configuration or another environment instead of ours.
SCRUB_PREFIXES = ("CONDA", "MAMBA", "PYTHON", "VIRTUAL_ENV")  # CONDARC, MAMBARC too


def scrubbed_environ(environ: Mapping[str, str] | None = None,
                     keep: tuple[str, ...] = ()) -> dict[str, str]:
    """A copy of the environment without conda/mamba/python steering variables."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items()
            if k in keep or not k.upper().startswith(SCRUB_PREFIXES)}
