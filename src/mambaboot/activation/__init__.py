"""Entering an environment: the activation model and the per-shell scripts.

``prepare`` is what ``create`` calls once the engine has installed packages:
it copies ``--template`` folders, makes condabin batch files relocatable,
writes the portable ``activate.*`` scripts and stores the static activation
(PATH entries and variables computed from the prefix alone). It runs no
package code: the packages' activate.d scripts run only when the user enters
the environment (the ``activate.*`` scripts source them; ``run`` measures
them on first use, see ``activate_d``).
"""

from __future__ import annotations

from mambaboot.activation import env_delta, fresh

TYPE_CHECKING = False  # importing typing would slow `run` down

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from mambaboot.activation.via_template import Activator


def activators() -> list[Activator]:
    """One activator per shell. Imported lazily: ``run`` needs only ``env_delta``."""
    from mambaboot.activation.bash import BashActivator
    from mambaboot.activation.batch import BatchActivator
    from mambaboot.activation.fish import FishActivator
    from mambaboot.activation.powershell import PowerShellActivator

    return [BashActivator(), FishActivator(), BatchActivator(), PowerShellActivator()]


def write_scripts(prefix: Path, activation: env_delta.Activation) -> list[Path]:
    """Write every shell's activation scripts into the prefix."""
    written: list[Path] = []
    for activator in activators():
        written += activator.generate(prefix, activation)
    return written


def prepare(prefix: Path, name: str, templates: Sequence[Path] = ()) -> env_delta.Activation:
    """Templates, condabin fix-up, activate.* scripts, and the static activation, stored.

    Deliberately runs no activate.d script (that would be package code nobody
    asked for during create); the stored activation is marked unmeasured when
    such scripts exist, and ``run`` measures them the first time it is used.
    """
    from mambaboot.activation.seed_files import copy_templates, relocate_condabin

    copy_templates(prefix, templates)
    relocate_condabin(prefix)
    activation = fresh.compute(prefix, name)
    write_scripts(prefix, activation)
    env_delta.store(prefix, activation)
    return activation


__all__ = ["activators", "env_delta", "prepare", "write_scripts"]
