"""Frozen results returned by operations; the CLI decides how to print them.

The library never prints: a result is data that ``cli`` renders as text on a
terminal or as one JSON document with ``--json``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


#: Receives ``(event, data)`` as an operation goes ("solve-start", "solved",
#: "download-begin", "linked", "verify" ...); the CLI draws them, tests pause on them.
ProgressCallback = Callable[[str, dict[str, Any]], None]


def no_progress(_event: str, _data: dict[str, Any]) -> None:
    """Default for library callers: nothing is printed by the library."""


class JsonResult:
    def to_json(self) -> dict[str, Any]:
        return _plain(asdict(self))  # type: ignore[call-overload]


@dataclass(frozen=True)
class CreateResult(JsonResult):
    prefix: Path
    name: str
    python_version: str
    package_count: int
    engine: str
    engine_version: str
    channels: tuple[str, ...]
    specs: tuple[str, ...]
    seconds: float
    written: tuple[Path, ...] = ()  # every top-level path the create wrote to
    #: paths more than one package ships: {"path", "packages", "installed"} (never silent)
    clobbers: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class EnvEntry(JsonResult):
    name: str
    path: Path
    status: str
    python_version: str | None
    package_count: int
    size_bytes: int


@dataclass(frozen=True)
class ListResult(JsonResult):
    root: Path
    environments: tuple[EnvEntry, ...]


@dataclass(frozen=True)
class Check(JsonResult):
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class VerifyReport(JsonResult):
    prefix: Path
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "ok": self.ok}


@dataclass(frozen=True)
class RemoveResult(JsonResult):
    prefix: Path
    removed: bool
    dry_run: bool
    entries: tuple[str, ...] = ()       # top-level entries that go (or went)
    leftovers: tuple[Path, ...] = ()    # locked files moved aside for later
