"""The engine seam: the one step that differs between rattler and micromamba.

Everything before (naming, checks, locking) and after (cache link, activation,
verification, manifest, lockfile) is shared in ``mambaboot.session``; an engine
only has to turn a request into installed packages in an empty prefix.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mambaboot.locations import Cache

if TYPE_CHECKING:
    from mambaboot.child import Worker
from mambaboot.events import ProgressCallback, no_progress
from mambaboot.spec import CreateRequest


@dataclass(frozen=True)
class InstallOutcome:
    """What an engine reports back: the records it installed and its own version."""

    engine_version: str
    records: list[dict[str, Any]] = field(default_factory=list)
    channels: tuple[str, ...] = ()  # as recorded in the lockfile
    #: paths shipped by more than one package: {"path", "packages", "installed"}
    clobbers: list[dict[str, Any]] = field(default_factory=list)
    #: a lock's PyPI wheels (``pypi.Wheel`` data), installed by the session after linking
    pypi: list[dict[str, Any]] = field(default_factory=list)
    #: the engine checked every symlink it linked (``transaction.check_linked``), so
    #: the session's walk of the whole prefix is not needed unless PyPI adds files
    links_checked: bool = False


class Engine(ABC):
    """One way of installing a solved set of packages into a fresh prefix."""

    name: str

    @abstractmethod
    def install(self, request: CreateRequest, prefix: Path, cache: Cache,
                progress: ProgressCallback = no_progress,
                worker: Worker | None = None) -> InstallOutcome:
        """Solve ``request`` and install it into ``prefix`` (which exists and is empty).

        ``worker`` is a running rattler worker (``child.Worker``) the
        session started for this create: an engine that needs py-rattler asks
        it rather than starting its own process (the session asks the same
        worker for the lockfile afterwards).
        """
