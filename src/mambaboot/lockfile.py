"""Lockfiles with py-rattler: read ours, pixi.lock or @EXPLICIT; write ours; export.

Our lockfile *is* the rattler lock format (what pixi.lock uses), one
environment ``default`` and one platform, so pixi and rattler tooling read it.
This module imports rattler, so it runs in the engine worker or in commands
that need it (``lock``, ``verify``, ``bundle``), never on the ``run`` path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

import rattler

from mambaboot.errors import LockFormatError, MambabootError, UsageError
from mambaboot.packages.fetch import Wanted
from mambaboot.results import LockResult

ENV_NAME = "default"


def current_subdir() -> str:
    return str(rattler.Subdir.current())


def is_explicit(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError as exc:
        raise LockFormatError(f"Cannot read the lockfile {path} ({exc.strerror}); "
                              "check the path.") from None
    return any(line.strip() == "@EXPLICIT" for line in head.splitlines())


def read_lock(path: Path, subdir: str | None = None) -> tuple[list[rattler.RepoDataRecord],
                                                             list[str]]:
    """Records for this platform and the channels, from our lockfile or a pixi.lock."""
    subdir = subdir or current_subdir()
    try:
        lock = rattler.LockFile.from_path(path)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LockFormatError(
            f"The lockfile {path} is not a valid rattler/pixi lockfile ({first}); regenerate it "
            "with 'mambaboot lock ENV' or pass an @EXPLICIT file.") from None
    env = lock.default_environment() or next(iter(dict(lock.environments()).values()), None)
    if env is None:
        raise LockFormatError(f"The lockfile {path} has no environment; regenerate it with "
                              "'mambaboot lock ENV'.")
    platforms = {p.name: p for p in env.platforms()}
    if subdir not in platforms:
        have = ", ".join(sorted(platforms)) or "none"
        raise LockFormatError(
            f"The lockfile {path} has no packages for {subdir} (it has: {have}); lock the "
            f"environment on {subdir} first.")
    records = env.conda_repodata_records_for_platform(platforms[subdir]) or []
    missing = [r.file_name for r in records if not r.sha256]
    if missing:
        raise LockFormatError(f"The lockfile {path} has no sha256 for {missing[0]}; every "
                              "package must carry one, regenerate it with 'mambaboot lock'.")
    channels = [str(getattr(c, "url", c)) for c in (env.channels() or [])]
    return records, channels


def read_explicit(path: Path) -> list[Wanted]:
    """``@EXPLICIT`` lines ``URL#sha256`` (conda and micromamba accept this form)."""
    wanted = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "@")):
            continue
        url, _, digest = line.partition("#")
        digest = digest.removeprefix("sha256:").removeprefix("sha256=")
        file_name = urlparse(url).path.rsplit("/", 1)[-1]
        if not file_name.endswith((".conda", ".tar.bz2")):
            raise LockFormatError(f"The @EXPLICIT line {line!r} is not a package URL; "
                                  "each line must be URL#SHA256.")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
            raise LockFormatError(
                f"The @EXPLICIT entry {file_name} has no sha256 (an md5 is not enough here); "
                "export it with 'mambaboot lock ENV --format explicit'.")
        name = file_name.rsplit("-", 2)[0]
        wanted.append(Wanted(name, file_name, url, digest.lower()))
    if not wanted:
        raise LockFormatError(f"The @EXPLICIT file {path} lists no packages; export one with "
                              "'mambaboot lock ENV --format explicit'.")
    return wanted


def wanted_of(records: list[rattler.RepoDataRecord]) -> list[Wanted]:
    return [Wanted(r.name.normalized, r.file_name, str(r.url), sha256_hex(r)) for r in records]


def sha256_hex(record: rattler.RepoDataRecord) -> str:
    """The record's sha256 as hex (read_lock refuses records without; conda-meta may lack it)."""
    if record.sha256 is None:
        raise MambabootError(f"The package {record.file_name} has no sha256 in its record, so it "
                             "cannot be checked or exported by hash; reinstall it from a channel "
                             "that lists sha256 hashes.")
    return record.sha256.hex()


def channel_of_url(url: str) -> str:
    """``https://host/ch/linux-64/pkg.conda`` -> ``https://host/ch``."""
    return url.rsplit("/", 2)[0]


async def records_from_archives(wanted: list[Wanted], archives: dict[str, Path | None],
                                ) -> list[rattler.RepoDataRecord]:
    records = []
    for want in wanted:
        archive = archives[want.name]
        if archive is None:
            raise LockFormatError(f"{want.file_name} is needed as an archive to read its "
                                  "metadata; run without --offline once.")
        record = await rattler.RepoDataRecord.from_package_archive(archive)
        record.url = want.url
        record.channel = channel_of_url(want.url)
        records.append(record)
    return records


def write_lock(records: Sequence[rattler.RepoDataRecord], channels: list[str], path: Path,
               subdir: str | None = None) -> Path:
    platform = rattler.LockPlatform(subdir or current_subdir())
    lock = rattler.LockFile([platform])
    lock.set_channels(ENV_NAME, [rattler.LockChannel(c) for c in channels])
    for record in sorted(records, key=lambda r: r.name.normalized):
        lock.add_conda_package(ENV_NAME, platform, record)
    tmp = path.with_name(path.name + ".tmp")
    lock.to_path(tmp)
    tmp.replace(path)
    return path


def prefix_records(prefix: Path) -> list[rattler.PrefixRecord]:
    metas = sorted((prefix / "conda-meta").glob("*.json"))
    return [rattler.PrefixRecord.from_path(p) for p in metas]


def explicit_text(records: Sequence[rattler.RepoDataRecord], subdir: str | None = None) -> str:
    lines = ["# Generated by mambaboot; install with: mambaboot create NAME --from-lock FILE",
             f"# platform: {subdir or current_subdir()}", "@EXPLICIT"]
    lines += [f"{r.url}#{sha256_hex(r)}" for r in sorted(records, key=lambda r: r.name.normalized)]
    return "\n".join(lines) + "\n"


def restore_origins(prefix: Path, records: list[rattler.RepoDataRecord]) -> None:
    """conda-meta must name where a package came from, not the local copy we linked from."""
    by_name = {r.name.normalized: r for r in records}
    for meta in (prefix / "conda-meta").glob("*.json"):
        data = json.loads(meta.read_text(encoding="utf-8"))
        record = by_name.get(data.get("name", ""))
        if record is None:
            continue
        data["url"] = str(record.url)
        data["channel"] = str(record.channel) if record.channel else data.get("channel")
        meta.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")


# ``mambaboot lock``: refresh lock.yml from conda-meta, then export it.

FORMATS = ("rattler", "explicit", "environment-yml")


def environment_yml(name: str, channels: list[str], specs: list[str]) -> str:
    """The requested specs as a conda environment.yml (not pinned: the lock is the pin)."""
    import yaml

    return yaml.safe_dump({"name": name, "channels": channels, "dependencies": specs},
                          sort_keys=False)


def lock_env(env: Path, format: str = "rattler", output: Path | None = None) -> LockResult:
    """Rewrite ``env``'s lock.yml from what is installed now; export it as ``format``.

    With ``output`` the export is written there (for ``rattler``, a copy of
    lock.yml); without it the export's text is returned in ``content`` (no
    content for a plain ``rattler`` refresh).
    """
    from mambaboot.prefix import require_env

    if format not in FORMATS:
        raise UsageError(f"The lock format {format!r} is not one of {', '.join(FORMATS)}; "
                         "choose one of them.")
    prefix = require_env(env)
    manifest = prefix.read_manifest()
    raw_channels = manifest.get("channels", [])
    channels = [str(c) for c in raw_channels] if isinstance(raw_channels, list) else []
    records = prefix_records(prefix.path)
    _require_writable(prefix.lockfile.parent)
    write_lock(records, channels, prefix.lockfile)
    text: str | None = None
    if format == "explicit":
        text = explicit_text(records)
    elif format == "environment-yml":
        raw_specs = manifest.get("specs", [])
        text = environment_yml(str(manifest.get("name", prefix.name)), channels,
                               [str(s) for s in raw_specs] if isinstance(raw_specs, list) else [])
    elif output is not None:  # the rattler format's export is lock.yml itself
        text = prefix.lockfile.read_text(encoding="utf-8")
    if text is not None and output is not None:
        _write_export(Path(output), text)
        return LockResult(prefix.lockfile, len(records), format, Path(output))
    return LockResult(prefix.lockfile, len(records), format, None, text)


def _write_export(path: Path, text: str) -> None:
    """Write the export, or one sentence on why it cannot be written."""
    if path.is_dir():
        raise UsageError(f"-o {path} is a directory; give a file name, e.g. {path / 'env.txt'}.")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MambabootError(f"Cannot write {path} ({exc.strerror}); choose a writable path "
                             "with -o.") from None


def _require_writable(folder: Path) -> None:
    """The engine's own writer reports a read-only disk as a bare IoError: ask first."""
    import os

    probe = folder / f".lock-probe-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise MambabootError(
            f"Cannot refresh the lockfile in {folder} ({exc.strerror}); make the environment "
            "writable, or export without refreshing by reading "
            f"{folder / 'lock.yml'} as it is.") from None
