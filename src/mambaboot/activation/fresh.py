"""The activation an environment needs now: the stored one, or recomputed.

``env_delta`` is the model and its storage; ``activate_d`` measures package
scripts; this module decides which of the two a caller gets, so ``run``
(which reads a stored, still-true activation almost always) never imports the
measuring code.
"""

from __future__ import annotations

from mambaboot.activation.env_delta import (
    IS_WINDOWS,
    Activation,
    base,
    conda_meta_mtime,
    load,
    store,
)

TYPE_CHECKING = False  # `run` imports this module: no typing, no pathlib
if TYPE_CHECKING:
    from mambaboot.activation.env_delta import StrPath


def compute(prefix: StrPath, name: str | None = None, windows: bool = IS_WINDOWS,
            *, run_scripts: bool = False) -> Activation:
    """The base activation; with ``run_scripts``, plus the measured activate.d effects.

    ``run_scripts`` runs package code (bounded, see ``activate_d.measure``), so
    only the paths that enter the environment (``run``) pass it; ``create`` and
    ``verify`` never do. Without it, an environment that has no activate.d
    scripts for this platform is marked measured (there is nothing to measure).
    """
    activation = base(prefix, name, windows)
    if windows != IS_WINDOWS:
        return activation  # another platform's scripts cannot be run from here
    from pathlib import Path  # measuring: not on run's usual path

    from mambaboot.activation import activate_d  # subprocess & co: not on run's fast path

    if not activate_d.scripts(Path(prefix)):
        return activation._replace(measured=True)
    if not run_scripts:
        return activation
    return activate_d.measure(Path(prefix), activation)


def _fresh(prefix: StrPath, name: str | None, *, run_scripts: bool) -> Activation:
    """The stored activation when it is still true (and measured, if asked), else recomputed."""
    stored = load(prefix)
    if (stored is not None and stored.stamp == conda_meta_mtime(prefix)
            and (stored.measured or not run_scripts)):
        return stored
    fresh = compute(prefix, name or (stored.name if stored else None), run_scripts=run_scripts)
    try:  # noqa: SIM105 - contextlib would cost `run` its import
        store(prefix, fresh)
    except OSError:
        pass  # a read-only environment still activates; it just recomputes next time
    return fresh


def current(prefix: StrPath, name: str | None = None) -> Activation:
    """The stored activation, recomputed when conda-meta changed; never runs package code.

    What ``verify`` applies: the activate.d effects are included when ``run``
    has measured them already, and left out otherwise.
    """
    return _fresh(prefix, name, run_scripts=False)


def measured(prefix: StrPath, name: str | None = None) -> Activation:
    """What ``run`` applies: like ``current``, plus the activate.d effects, measured if needed.

    Measuring runs the packages' activate.d scripts (the user is entering the
    environment, so this is when conda would run them too); it happens the first
    time and again after ``conda-meta`` changed, and the result is stored.
    """
    return _fresh(prefix, name, run_scripts=True)
