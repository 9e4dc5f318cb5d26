"""``mambaboot export ENV DIR``: a folder that rebuilds ENV on a machine with nothing on it.

The seed of this project was a batch file run on a bare Windows machine; this
is that script made exact. The folder holds:

* ``install.sh`` (POSIX sh), ``install.bat`` (cmd.exe, no PowerShell needed)
  and ``install.ps1``, each annotated step by step (templates next to this
  file, filled in with ``@NAME@``-style fields, nothing else generated);
* ``env.txt``: the exact package list, one URL and sha256 per package
  (``@EXPLICIT``), and ``lock.yml``;
* ``mambaboot/``: the activation scripts, ``env.json`` and ``.condarc`` the
  installed environment gets, so ``mambaboot list``, ``verify`` and ``remove``
  treat it as their own;
* ``README.txt``; with ``--offline`` also ``pkgs/`` (every archive,
  sha256-checked here) and ``micromamba/`` (the binary), so no network is
  needed at all.

The scripts download a pinned micromamba (version and sha256 written into
them; a mirror may be named but never changes the sha256), run ``micromamba
create`` once with an isolated root prefix, package cache and HOME next to the
target, and remove the partial target on any failure. An environment is locked
for one platform, so an export for another is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mambaboot import __version__
from mambaboot.errors import UsageError
from mambaboot.events import ProgressCallback, no_progress
from mambaboot.locations import Cache
from mambaboot.results import ExportResult

TEMPLATES = Path(__file__).parent
SCRIPTS = ("install.sh", "install.bat", "install.ps1", "README.txt")
#: What the installed environment gets from ``mambaboot/`` (when the source has them).
COPIED = ("activate.sh", "activate.fish", "activate.bat", "activate.ps1", "deactivate.bat")


@dataclass(frozen=True)
class Micromamba:
    """The micromamba the scripts use: where to get it and what its sha256 must be."""

    version: str
    subdir: str
    url: str
    sha256: str
    file: Path | None = None  # embedded in the folder (--offline, --micromamba FILE)


def export_env(env: Path, out: Path, cache: Cache, *, offline: bool = False,
               micromamba: Path | None = None, platform: str | None = None,
               micromamba_version: str | None = None, micromamba_sha256: str | None = None,
               progress: ProgressCallback = no_progress) -> ExportResult:
    """Write the installer folder ``out`` (new, or an empty folder) for the environment."""
    from mambaboot import lockfile, pypi
    from mambaboot.prefix import require_env

    prefix = require_env(env)
    manifest = prefix.read_manifest()
    env_platform = str(manifest.get("platform") or "")
    if platform and platform != env_platform:
        raise UsageError(
            f"{prefix.path} is locked for {env_platform}; an installer for {platform} would "
            f"need other packages, so it is refused: create the environment on {platform} "
            "(or from its lock there) and export that.")
    if pypi.recorded(prefix.path):
        raise UsageError(
            f"{prefix.path} has PyPI packages, which the installer (micromamba) cannot install "
            "exactly; share it with 'mambaboot bundle' instead, or export an environment "
            "without them.")
    out = Path(out).expanduser().absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} exists and is not an empty folder; choose a new folder.")
    explicit = lockfile.lock_env(prefix.path, "explicit").content or ""
    wanted, _wheels = lockfile.read_wanted(prefix.lockfile)
    from mambaboot.objectstore import is_object_url

    stored = sorted({w.url.split("://", 1)[0] for w in wanted if is_object_url(w.url)})
    if stored and not offline:
        raise UsageError(
            f"{prefix.path} was made from {', '.join(s + '://' for s in stored)} channels, which "
            "the installer's micromamba cannot read; export with --offline (every package goes "
            "into the folder).")
    binary = _micromamba(cache, env_platform, micromamba, version=micromamba_version,
                         pin=micromamba_sha256, offline=offline, progress=progress)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise UsageError(f"Cannot make {out} ({exc.strerror}): its parent is not a writable "
                         "folder; choose another place.") from None
    try:
        (staging / "env.txt").write_text(explicit, encoding="utf-8")
        shutil.copy2(prefix.lockfile, staging / "lock.yml")
        _mambaboot_files(prefix.path, manifest, binary, staging / "mambaboot")
        if offline:
            from mambaboot.packages.fetch import copy_into, ensure_archives

            archives = ensure_archives(wanted, cache.pkgs, need_archive=True, progress=progress)
            copy_into([a for a in archives.values() if a is not None], staging / "pkgs")
        embedded = ""
        if binary.file is not None:
            name = "micromamba.exe" if env_platform.startswith("win") else "micromamba"
            (staging / "micromamba").mkdir()
            shutil.copy2(binary.file, staging / "micromamba" / name)
            embedded = f"micromamba/{name}"
        fields = {
            "NAME": str(manifest.get("name") or prefix.path.name), "DIRNAME": prefix.path.name,
            "PLATFORM": env_platform, "COUNT": str(len(wanted)),
            "MAMBABOOT_VERSION": __version__,
            "DATE": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "MM_VERSION": binary.version, "MM_SHA256": binary.sha256, "MM_URL": binary.url,
            "MM_FILE": embedded, "OFFLINE": "1" if offline else "0",
            "OFFLINE_NOTE": ("this folder holds every package and micromamba: no network"
                             if offline else "packages are downloaded from their channels"),
        }
        for script in SCRIPTS:
            text = _render((TEMPLATES / script).read_text(encoding="utf-8"), fields)
            newline = "\r\n" if script.endswith((".bat", ".ps1", ".txt")) else "\n"
            (staging / script).write_bytes(text.replace("\n", newline).encode("utf-8"))
        (staging / "install.sh").chmod(0o755)
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(out, len(wanted), env_platform, offline, binary.sha256,
                        micromamba_embedded=bool(embedded))


def _render(template: str, fields: dict[str, str]) -> str:
    for key, value in fields.items():
        template = template.replace(f"@{key}@", value)
    return template


def _micromamba(cache: Cache, subdir: str, given: Path | None, *, version: str | None,
                pin: str | None, offline: bool, progress: ProgressCallback) -> Micromamba:
    """The binary to pin: ``--micromamba FILE``, else the cached or downloaded release."""
    from mambaboot.engines.micromamba.binary import MICROMAMBA_VERSION, release_url
    from mambaboot.fsutil import sha256_file

    version = version or MICROMAMBA_VERSION
    url = release_url(version, subdir)
    if any(c in url for c in "'\"` $%\r\n"):
        raise UsageError(f"The micromamba URL {url!r} has a quote, space or % in it, which the "
                         "scripts cannot carry; set MAMBABOOT_MICROMAMBA_URL to a plain URL.")
    if given is not None:
        given = Path(given).expanduser()
        if not given.is_file():
            raise UsageError(f"--micromamba {given} is not a file; give the micromamba binary.")
        return Micromamba(version, subdir, url, sha256_file(given), given.absolute())
    from mambaboot.engines.micromamba.obtain import ensure

    info = ensure(cache, version=version, subdir=subdir, pin=pin, progress=progress)
    return Micromamba(version, subdir, info.url or url, info.sha256,
                      info.path if offline else None)


def _mambaboot_files(prefix: Path, manifest: dict[str, object], binary: Micromamba,
                     folder: Path) -> None:
    """What ``mambaboot create`` writes into a prefix, as the installer will copy it."""
    folder.mkdir()
    for name in COPIED:
        if (prefix / name).is_file():
            shutil.copy2(prefix / name, folder / name)
    condarc = prefix / ".condarc"
    if condarc.is_file():
        text = condarc.read_text(encoding="utf-8")
        head = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
        try:
            config = json.loads("\n".join(line for line in text.splitlines()
                                          if not line.startswith("#")))
            # the exporting machine's cache path means nothing on the target: conda
            # inside then uses the environment's own pkgs/ folder
            config.pop("pkgs_dirs", None)
            (folder / "condarc").write_text(head + json.dumps(config, indent=2) + "\n",
                                            encoding="utf-8")
        except ValueError:
            pass  # edited by hand into YAML: the installed env's conda uses its defaults
    installed = {**manifest, "engine": "micromamba", "engine_version": binary.version,
                 "source": "installer", "exported_from": str(prefix), "clobbers": []}
    (folder / "env.json").write_text(json.dumps(installed, indent=2, sort_keys=True) + "\n",
                                     encoding="utf-8")
