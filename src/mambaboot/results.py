"""Frozen results returned by operations; the CLI decides how to print them.

The library never prints: a result is data that ``cli.render`` turns into text
on a terminal or into the ``result`` of the one JSON envelope with ``--json``.
Every result of ``mambaboot.api`` is defined here (the run plan excepted: it
lives in ``activation.run`` so that ``mambaboot run`` never imports this module).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# re-exported: they lived here first (library callers may import them from here)
from mambaboot.events import ProgressCallback, no_progress  # noqa: F401


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value



class JsonResult:
    def to_json(self) -> dict[str, Any]:
        # call-overload: JsonResult is only mixed into the frozen dataclasses below
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
    #: every top-level path the create wrote to: the prefix, the cache, the package cache
    written: tuple[Path, ...] = ()
    #: paths more than one package ships: {"path", "packages", "installed"} (never silent)
    clobbers: tuple[dict[str, Any], ...] = ()
    #: what the request itself warned about (a plain-http channel, -c before the file's)
    warnings: tuple[str, ...] = ()
    #: PyPI wheels installed after the conda packages (a pip: section or a lock's pypi:)
    pypi_count: int = 0

    @property
    def lockfile(self) -> Path:
        return self.prefix / ".mambaboot" / "lock.yml"

    @property
    def package_cache(self) -> Path | None:
        return self.written[2] if len(self.written) > 2 else None


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


@dataclass(frozen=True)
class LockResult(JsonResult):
    """``lock``: the refreshed lockfile, and the export when one was asked for."""

    lockfile: Path
    packages: int
    format: str                          # rattler | explicit | environment-yml
    output: Path | None = None           # where the export was written (-o)
    #: the export's text when it was not written to ``output`` (None for a plain refresh)
    content: str | None = None


@dataclass(frozen=True)
class BundleResult(JsonResult):
    """``bundle``: the folder or .tar written, and how many archives it holds."""

    bundle: Path
    packages: int
    warnings: tuple[str, ...] = ()  # also sent as "warning" events while it ran


@dataclass(frozen=True)
class ExportResult(JsonResult):
    """``export``: the installer folder, for which platform, and the micromamba it pins."""

    folder: Path
    packages: int
    platform: str
    offline: bool
    micromamba_sha256: str
    micromamba_embedded: bool = False  # the binary is in the folder (--offline, --micromamba)
    warnings: tuple[str, ...] = ()  # also sent as "warning" events while it ran


@dataclass(frozen=True)
class Finding(JsonResult):
    """One problem: what kind, where it is, what it does, and the one-line fix."""

    kind: str      # active-variable | autorun | rc-file | path | cache-filesystem
    where: str
    problem: str
    fix: str


@dataclass(frozen=True)
class DoctorReport(JsonResult):
    findings: tuple[Finding, ...]
    checked: tuple[str, ...]     # rc files looked at, for the curious

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "findings": [f.to_json() for f in self.findings],
                "checked_files": list(self.checked)}


@dataclass(frozen=True)
class BinaryInfo(JsonResult):
    """A verified micromamba binary in the cache, and where it came from."""

    path: Path
    version: str
    subdir: str
    sha256: str
    source: str             # release | channel
    url: str
    fetched: str            # ISO time it was downloaded
    downloaded: bool = False  # True when this call fetched it (False: served from the cache)


@dataclass(frozen=True)
class MicromambaResult(JsonResult):
    """``micromamba fetch|path|verify``: the action and the binary it concerns."""

    action: str             # fetch | path | verify
    binary: BinaryInfo

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, **self.binary.to_json()}
