"""Progress for long work: a live line on a terminal, silence when piped."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

_LABELS = {
    "solve-start": "Solving", "solved": "Solved", "install-start": "Installing",
    "finishing": "Linking the cache and writing activation scripts",
    "verify": "Verifying the environment", "cleanup": "Removing a failed earlier create",
}


class ProgressView:
    """Callable progress sink for the library; a no-op unless stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressView:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            from mambaboot.cli.output import console

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), console=console(stderr=True),
                                      transient=True)
            self._progress.start()
            self._task = self._progress.add_task("Starting", total=None)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        if self._progress is None:
            return
        if event == "install-start":
            self._progress.update(self._task, description="Installing", total=data.get("total"),
                                  completed=0)
        elif event == "linked":
            self._progress.advance(self._task)
        elif event in _LABELS:
            self._progress.update(self._task, description=_LABELS[event])
