"""The rattler side of lockfiles: read ours or a pixi.lock, write ours, export @EXPLICIT.

Runs only in the rattler worker (``engines.rattler.worker``): py-rattler's
lock reader and writer are native code, so they stay out of the CLI's process
like the engine itself. ``mambaboot.lockfile`` is the parent side that asks
the worker for these operations; the format decisions are documented there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import rattler

from mambaboot.errors import LockFormatError, MambabootError
from mambaboot.packages.explicit import channel_of_url, explicit_header
from mambaboot.packages.fetch import Wanted
from mambaboot.platforms import current_subdir
from mambaboot.pypi import Wheel, check_locked

#: The one environment of our lockfile (pixi's default name).
ENV_NAME = "default"


def read_lock(path: Path, subdir: str | None = None,
              warn: Callable[[str], None] | None = None, environment: str | None = None,
              ) -> tuple[list[rattler.RepoDataRecord], list[str], list[dict[str, Any]]]:
    """Records for this platform, the channels and the PyPI wheels (``pypi.Wheel`` data).

    Nothing in the lock is left out silently: PyPI entries that are not wheels
    with a sha256, and conda source packages, are refused naming them, since
    they cannot be installed exactly. ``environment`` picks one environment of a
    lock with several (a pixi workspace's ``test``, ``docs`` ...); without it
    such a lock installs ``default`` and ``warn`` names the others, as pixi does.
    """
    subdir = subdir or current_subdir()
    try:
        lock = rattler.LockFile.from_path(path)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LockFormatError(
            f"The lockfile {path} is not a valid rattler/pixi lockfile ({first}); regenerate it "
            "with 'mambaboot lock ENV' or pass an @EXPLICIT file.") from None
    envs = dict(lock.environments())
    env: rattler.Environment | None
    if environment is not None:
        if environment not in envs:
            have = ", ".join(sorted(envs)) or "none"
            raise LockFormatError(
                f"The lockfile {path} has no environment {environment!r} (it has: {have}); "
                "pick one of those with --environment.")
        env = envs[environment]
    else:
        env = lock.default_environment() or next(iter(envs.values()), None)
        if env is not None and len(envs) > 1 and warn is not None:
            others = ", ".join(sorted(n for n in envs if n != ENV_NAME))
            warn(f"warning: the lockfile {path.name} holds {len(envs)} environments; "
                 f"installing '{ENV_NAME}' (the others: {others}; pick one with "
                 "--environment NAME).")
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
    pypi = _pypi_entries(path, env, platforms[subdir])
    _refuse_source_packages(path, env, platforms[subdir], len(records) + len(pypi))
    missing = [r.file_name for r in records if not r.sha256]
    if missing:
        raise LockFormatError(f"The lockfile {path} has no sha256 for {missing[0]}; every "
                              "package must carry one, regenerate it with 'mambaboot lock'.")
    channels = [str(getattr(c, "url", c)) for c in (env.channels() or [])]
    return records, channels, pypi


def _pypi_entries(path: Path, env: rattler.Environment,
                  platform: rattler.LockPlatform) -> list[dict[str, Any]]:
    """The PyPI packages, as ``pypi.Wheel`` data; each must be a wheel with a sha256."""
    wheels = []
    for package in env.pypi_packages_for_platform(platform) or []:
        try:
            sha256 = package.hashes.sha256 if package.hashes is not None else None
        except AttributeError:  # py-rattler 0.28: an entry with no hash has an empty wrapper
            sha256 = None
        wheels.append(Wheel(str(package.name), str(package.version), str(package.location),
                            sha256.hex() if sha256 else "", tuple(package.requires_dist or ()),
                            package.requires_python))
    return [w.to_json() for w in check_locked(wheels, str(path))]


def _refuse_source_packages(path: Path, env: rattler.Environment,
                            platform: rattler.LockPlatform, known: int) -> None:
    """Conda source packages cannot be installed exactly: say so, never drop them."""
    total = len(env.packages(platform) or [])
    if total > known:
        raise LockFormatError(
            f"The lockfile {path} lists {total - known} package(s) that are neither built conda "
            "packages nor PyPI wheels (conda source packages), which cannot be installed "
            "exactly; lock the environment with built packages only.")


def wanted_of(records: list[rattler.RepoDataRecord]) -> list[Wanted]:
    return [Wanted(r.name.normalized, r.file_name, str(r.url), sha256_hex(r)) for r in records]


def sha256_hex(record: rattler.RepoDataRecord) -> str:
    """The record's sha256 as hex (read_lock refuses records without; conda-meta may lack it)."""
    if record.sha256 is None:
        raise MambabootError(f"The package {record.file_name} has no sha256 in its record, so it "
                             "cannot be checked or exported by hash; reinstall it from a channel "
                             "that lists sha256 hashes.")
    return record.sha256.hex()


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
    """Our lockfile: one environment ``default``, one platform, sorted by name."""
    platform = rattler.LockPlatform(subdir or current_subdir())
    lock = rattler.LockFile([platform])
    lock.set_channels(ENV_NAME, [rattler.LockChannel(c) for c in channels])
    for record in sorted(records, key=lambda r: r.name.normalized):
        lock.add_conda_package(ENV_NAME, platform, record)
    tmp = path.with_name(f".{path.name}.tmp")
    lock.to_path(tmp)
    tmp.replace(path)
    return path


def prefix_records(prefix: Path) -> list[rattler.PrefixRecord]:
    metas = sorted((prefix / "conda-meta").glob("*.json"))
    return [rattler.PrefixRecord.from_path(p) for p in metas]


MetaState = tuple[str, int, int, int]  # name, inode, size, mtime_ns


def meta_state(prefix: Path) -> list[MetaState]:
    """Name, inode, size and mtime of every conda-meta record: what ``prefix_records`` reads.

    Records parsed earlier are reused only while this is unchanged (``ReadAhead``).
    """
    out = []
    with os.scandir(prefix / "conda-meta") as it:
        for entry in it:
            if entry.name.endswith(".json"):
                st = entry.stat(follow_symlinks=False)
                out.append((entry.name, st.st_ino, st.st_size, st.st_mtime_ns))
    return sorted(out)


class ReadAhead:
    """conda-meta parsed on a thread right after linking, for the lockfile step.

    The parent scans the prefix and writes the activation scripts before it asks
    for the lockfile, and this worker would sit idle meanwhile; parsing 400
    records takes ~0.15 s. ``records`` hands them over only if conda-meta still
    is exactly what was parsed (same names, inodes, sizes, mtimes, taken before
    parsing), else it returns None and the caller reads conda-meta again: one
    reader, read once or twice, never a stale copy.
    """

    def __init__(self, prefix: Path) -> None:
        import threading

        self.prefix = prefix
        self._result: tuple[list[MetaState], list[rattler.PrefixRecord]] | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            before = meta_state(self.prefix)
            self._result = (before, prefix_records(self.prefix))
        except Exception:  # any failure: the lockfile step reads conda-meta afresh
            self._result = None

    def records(self) -> list[rattler.PrefixRecord] | None:
        self._thread.join()
        if self._result is None:
            return None
        before, records = self._result
        try:
            return records if meta_state(self.prefix) == before else None
        except OSError:
            return None


def explicit_text(records: Sequence[rattler.RepoDataRecord], subdir: str | None = None) -> str:
    lines = [*explicit_header(subdir or current_subdir())]
    lines += [f"{r.url}#{sha256_hex(r)}" for r in sorted(records, key=lambda r: r.name.normalized)]
    return "\n".join(lines) + "\n"
