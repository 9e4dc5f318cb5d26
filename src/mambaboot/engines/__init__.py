"""Engine registry: ``--engine NAME`` picks one; each import is lazy.

Importing an engine module must stay cheap (the rattler engine itself runs in
a child process), so listing engines never loads native code.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from mambaboot.errors import UsageError

if TYPE_CHECKING:  # the rattler worker imports this package: it needs no engine classes
    from mambaboot.engines.base import Engine

ENGINES: dict[str, str] = {
    "rattler": "mambaboot.engines.rattler.engine:RattlerEngine",
    "micromamba": "mambaboot.engines.micromamba.engine:MicromambaEngine",
}
DEFAULT_ENGINE = "rattler"


def get_engine(name: str, **options: object) -> Engine:
    try:
        target = ENGINES[name]
    except KeyError:
        raise UsageError(
            f"Unknown engine {name!r}; choose one of: {', '.join(sorted(ENGINES))}."
        ) from None
    module, _, cls = target.partition(":")
    return getattr(import_module(module), cls)(**options)
