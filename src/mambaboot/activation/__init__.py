"""Entering an environment: the activation model and the per-shell scripts.

``prepare`` is what ``create`` calls once the engine has installed packages:
it computes and stores the activation and writes everything into the prefix
that makes the environment enterable without any shell hook.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mambaboot.activation import env_delta


def prepare(prefix: Path, name: str, templates: Sequence[Path] = ()) -> env_delta.Activation:
    """Compute + store the activation, write activate.* scripts, copy ``--template`` dirs."""
    activation = env_delta.compute(prefix, name)
    env_delta.store(prefix, activation)
    return activation
