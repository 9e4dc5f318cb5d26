"""Progress for long work: live rows on a terminal, one line per phase with -v, else silence.

One sink serves every command. The library (``session``, the engine worker,
``remove``) reports ``(event, data)``; this module turns each event into a
*phase*: a row of its own on a terminal (spinner, bar when the size is known,
counts, elapsed time), so every step of a create stays visibly alive, even
the ones that are one long call (the smoke test). Without a terminal, ``-v``
prints one plain line when a phase starts (no bars, no carriage returns: it
goes into logs), and nothing otherwise. ``--json`` and ``-q`` turn it off.

Events (data in braces):

* create: ``cleanup``, ``solve-start`` {specs}, ``solved`` {count},
  ``check-start`` {total}, ``checked``, ``fetch-start`` {count},
  ``fetch-bytes`` {n}, ``fetched``, ``install-start`` {total}, ``cached``,
  ``linked`` {name}, ``post-link`` {name}, ``install-done``,
  ``lockfile``, ``scan``, ``finishing``, ``verify``;
* remove: ``remove-count``, ``remove-start`` {total}, ``deleted`` {count};
* the micromamba binary: ``download-begin`` {what}, ``download-start`` /
  ``download-progress`` {total, completed}, ``download-retry`` {delay, reason}.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

#: Phases that run interleaved: starting one does not end the other (the
#: package check fetches what the cache lacks half-way through).
_OVERLAPPING = {frozenset({"check", "download"})}


@dataclass
class _Phase:
    """One step of the work: what a row shows, and what -v prints once."""

    label: str
    total: int | None = None
    done: int = 0
    note: str = ""
    started: float = field(default_factory=time.monotonic)
    task: Any = None
    finished: bool = False
    counted: bool = False  # has a real total (packages, files), shown as N/M


class ProgressView:
    """Callable progress sink for the library (``session.create``, ``remove_env`` ...).

    ``enabled`` is False for ``--json`` and ``-q``. On a terminal the view is
    live; otherwise ``verbose`` (-v) gives one line per phase on stderr.
    ``stages=False`` shows only the micromamba binary's download.
    """

    def __init__(self, enabled: bool, *, stages: bool = True, verbose: bool = False) -> None:
        tty = sys.stderr.isatty()
        self.live = enabled and tty
        self.lines = enabled and verbose and not tty
        self.stages = stages
        self._progress: Any = None
        self._phases: dict[str, _Phase] = {}
        self._download: Any = None  # the micromamba binary's own byte bar
        self._bytes = 0
        self._linked = self._cached = 0

    @property
    def active(self) -> bool:
        """Whether anything is shown: callers skip work done only for progress (counting)."""
        return self.live or self.lines

    def __enter__(self) -> ProgressView:
        if self.live:
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.table import Column

            from mambaboot.cli.output import console

            self._progress = Progress(
                SpinnerColumn(finished_text="[green]✓[/]"),
                TextColumn("{task.description}", markup=False),
                BarColumn(bar_width=24),
                TextColumn("{task.fields[count]}", markup=False),
                TextColumn("{task.fields[note]}", markup=False,
                           table_column=Column(no_wrap=True, overflow="ellipsis", max_width=48)),
                TimeElapsedColumn(),
                console=console(stderr=True), transient=True, refresh_per_second=8)
            self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        if not (self.live or self.lines):
            return
        if event.startswith("download-"):
            self._on_download(event, data)
            return
        if not self.stages:
            return
        handler = _HANDLERS.get(event)
        if handler is not None:
            handler(self, data)

    # -- phases -------------------------------------------------------------------

    def start(self, key: str, label: str, *, total: int | None = None, line: str = "") -> None:
        """Begin phase ``key``: the ones before it are done (bar full, tick shown)."""
        for other, phase in self._phases.items():
            if other != key and frozenset({key, other}) not in _OVERLAPPING:
                self._finish(phase)
        phase = _Phase(label, total, counted=total is not None)
        old = self._phases.pop(key, None)
        if old is not None and old.task is not None and self._progress is not None:
            self._progress.remove_task(old.task)
        self._phases[key] = phase
        if self.lines:
            sys.stderr.write(f"mambaboot: {line or label[0].lower() + label[1:]}\n")
            sys.stderr.flush()
        if self._progress is not None:
            phase.task = self._progress.add_task(label, total=total, count="", note="")
        self._show(phase)

    def advance(self, key: str, steps: int = 1, note: str | None = None) -> None:
        phase = self._phases.get(key)
        if phase is None or phase.finished:
            return
        phase.done += steps
        if note is not None:
            phase.note = note
        self._show(phase)

    def finish(self, key: str, label: str | None = None) -> None:
        phase = self._phases.get(key)
        if phase is not None:
            if label:
                phase.label = label
            self._finish(phase)

    def _finish(self, phase: _Phase) -> None:
        if phase.finished:
            return
        phase.finished = True
        if phase.total is None:
            phase.total = max(phase.done, 1)
        phase.done = phase.total
        self._show(phase)

    def _show(self, phase: _Phase) -> None:
        if self._progress is None or phase.task is None:
            return
        count = f"{phase.done}/{phase.total}" if phase.counted and phase.done else ""
        self._progress.update(phase.task, description=phase.label, total=phase.total,
                              completed=phase.done, count=count, note=phase.note)

    # -- the micromamba binary's download (its own byte bar) ------------------------

    def _on_download(self, event: str, data: dict[str, Any]) -> None:
        if event == "download-begin":
            what = data.get("what", "")
            if self.lines:
                sys.stderr.write(f"mambaboot: downloading {what}\n")
            if self._progress is not None:
                self._download = self._progress.add_task(f"Downloading {what}", total=None,
                                                         count="", note="")
        elif event in ("download-start", "download-progress") and self._download is not None:
            from mambaboot.cli.output import human_size

            done = data.get("completed", 0)
            self._progress.update(self._download, total=data.get("total"), completed=done,
                                  count=human_size(done))
        elif event == "download-retry":
            text = f"retrying in {data['delay']:.1f} s: {data['reason']}"
            if self._progress is not None:
                self._progress.console.print(text, markup=False)
            elif self.lines:
                sys.stderr.write(f"mambaboot: {text}\n")


def _n(count: object, noun: str) -> str:
    """``1 package``, ``402 packages``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _size(n: float) -> str:
    from mambaboot.cli.output import human_size

    return human_size(int(n))


def _solve_start(view: ProgressView, data: dict[str, Any]) -> None:
    specs = [str(s) for s in data.get("specs") or []]
    if specs and specs[0].startswith("lockfile "):
        view.start("solve", f"Reading the {specs[0]}")
    else:
        view.start("solve", "Solving", line=f"solving {', '.join(specs)}" if specs else "")


def _solved(view: ProgressView, data: dict[str, Any]) -> None:
    phase = view._phases.get("solve")
    reading = phase is not None and phase.label.startswith("Reading")
    view.finish("solve", f"{'Read the lockfile' if reading else 'Solved'}: "
                         f"{_n(data.get('count', '?'), 'package')}")


def _fetch_start(view: ProgressView, data: dict[str, Any]) -> None:
    count = int(data.get("count") or 0)
    if count:
        view._bytes = 0
        view.start("download", "Downloading packages", total=count,
                   line=f"downloading {_n(count, 'package')}")


def _fetch_bytes(view: ProgressView, data: dict[str, Any]) -> None:
    phase = view._phases.get("download")
    if phase is None:
        return
    view._bytes += int(data.get("n") or 0)
    rate = view._bytes / max(time.monotonic() - phase.started, 0.1)
    view.advance("download", 0, note=f"{_size(view._bytes)} at {_size(rate)}/s")


def _install_start(view: ProgressView, data: dict[str, Any]) -> None:
    total = data.get("total")
    view._linked = view._cached = 0
    view.start("link", "Linking packages", total=total,
               line=f"linking {_n(total, 'package')}" if total else "")


def _cached(view: ProgressView, _data: dict[str, Any]) -> None:
    view._cached += 1
    phase = view._phases.get("link")
    if phase is not None and not view._linked:  # rattler validates the cache before linking
        view.advance("link", 0, note=f"{view._cached} ready in the cache")


def _linked(view: ProgressView, data: dict[str, Any]) -> None:
    view._linked += 1
    view.advance("link", note=str(data.get("name", "")))


def _simple(key: str, label: str) -> Callable[[ProgressView, dict[str, Any]], None]:
    def handler(view: ProgressView, _data: dict[str, Any]) -> None:
        view.start(key, label)
    return handler


def _check_start(view: ProgressView, data: dict[str, Any]) -> None:
    total = data.get("total")
    view.start("check", "Checking packages", total=total,
               line=f"checking {_n(total, 'package')}" if total else "")


def _remove_start(view: ProgressView, data: dict[str, Any]) -> None:
    total = data.get("total")
    view.start("delete", "Deleting files", total=total,
               line=f"deleting {_n(total, 'file')}" if total is not None else "")


_HANDLERS: dict[str, Callable[[ProgressView, dict[str, Any]], None]] = {
    "cleanup": _simple("cleanup", "Removing a failed earlier create"),
    "solve-start": _solve_start,
    "solved": _solved,
    "check-start": _check_start,
    "checked": lambda view, data: view.advance("check", note=str(data.get("name", ""))),
    "fetch-start": _fetch_start,
    "fetch-bytes": _fetch_bytes,
    "fetched": lambda view, data: view.advance("download"),
    "install-start": _install_start,
    "cached": _cached,
    "linked": _linked,
    "post-link": lambda view, data: view.advance(
        "link", 0, note=f"post-link script of {data.get('name', '')}"),
    "install-done": lambda view, data: view.finish("link"),
    "pypi-start": _simple("pypi", "Installing PyPI packages (uv)"),
    "pypi-done": lambda view, data: view.finish("pypi"),
    "lockfile": _simple("lockfile", "Writing the lockfile"),
    "scan": _simple("scan", "Checking the environment's links"),
    "finishing": _simple("finishing", "Linking the cache and writing activation scripts"),
    "verify": _simple("verify", "Testing the new environment"),
    "remove-count": _simple("count", "Counting files"),
    "remove-start": _remove_start,
    "deleted": lambda view, data: view.advance("delete", int(data.get("count") or 1)),
}
