"""Progress for long work: a live display on a terminal, silence when piped.

One sink serves every command: create's stage and package events drive the
main bar, and ``download-*`` events (the micromamba binary, from ``create
--engine micromamba`` or ``micromamba fetch``) drive a byte bar of their own.
"""

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

    def __init__(self, enabled: bool, *, stages: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.stages = stages
        self._progress: Any = None
        self._task: Any = None
        self._download: Any = None

    def __enter__(self) -> ProgressView:
        if self.enabled:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

            from mambaboot.cli.output import console

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      TaskProgressColumn(), console=console(stderr=True),
                                      transient=True)
            self._progress.start()
            if self.stages:
                self._task = self._progress.add_task("Starting", total=None)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        if self._progress is None:
            return
        if event.startswith("download-"):
            self._on_download(event, data)
        elif self._task is None:
            return
        elif event == "install-start":
            self._progress.update(self._task, description="Installing", total=data.get("total"),
                                  completed=0)
        elif event == "linked":
            self._progress.advance(self._task)
        elif event in _LABELS:
            self._progress.update(self._task, description=_LABELS[event])

    def _on_download(self, event: str, data: dict[str, Any]) -> None:
        if event == "download-begin":
            self._download = self._progress.add_task(f"Downloading {data.get('what', '')}",
                                                     total=None)
        elif event in ("download-start", "download-progress") and self._download is not None:
            self._progress.update(self._download, total=data.get("total"),
                                  completed=data.get("completed", 0))
        elif event == "download-retry":
            self._progress.console.print(f"retrying in {data['delay']:.1f} s: {data['reason']}")
