"""PyPI packages in an environment, installed by uv after the conda packages.

Two ways in, one record out:

* ``environment.yml``'s ``pip:`` section (``resolve_install``): uv installs
  the requirements into the environment's own python, wheels only, with every
  Python distribution conda installed pinned as a constraint (so, like pip in
  a conda env, conda's packages satisfy requirements, and they are never
  replaced); what uv added is matched back to the exact wheel (URL and
  sha256) through a pinned PEP 751 lock of just those packages.
* a lock's ``pypi:`` entries (``install_exact``): no resolution. Each wheel is
  fetched by our own downloader (retries, sha256 checked before it is kept),
  from the bundle when there is one, and uv installs exactly those files,
  ``--no-deps``, hashes required, offline.

Either way ``.mambaboot/pypi.json`` records the wheels; the lockfile step
writes them as ``pypi:`` entries (``add_to_lock``, the pixi.lock shape) and
``verify`` checks every installed file against its RECORD hash
(``check_installed``). Source distributions, local paths, git and editable
requirements cannot be installed exactly and are refused by name, never
dropped. uv runs with ``--no-config`` and a clean environment (index settings
come from the ``pip:`` section or ``UV_INDEX_URL``/``UV_EXTRA_INDEX_URL``), its
cache is ``CACHE/uv`` and it copies files (``--link-mode copy``): an edit
inside an environment can never reach a cache.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mambaboot.errors import EngineError, LockFormatError, UsageError
from mambaboot.events import ProgressCallback, no_progress
from mambaboot.fsutil import file_digest, write_atomic
from mambaboot.prefix import META_DIR

RECORD_FILE = "pypi.json"
#: ``pip:`` section options passed on to uv (each takes one value).
INDEX_OPTIONS = {"--index-url": "--index-url", "-i": "--index-url",
                 "--extra-index-url": "--extra-index-url", "--find-links": "--find-links",
                 "-f": "--find-links"}
#: uv settings kept from the caller's environment: where the index is (a company
#: mirror). Every other UV_* / PIP_* variable is dropped, as are the rc files.
KEPT_UV_VARS = ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX",
                "UV_NATIVE_TLS", "UV_HTTP_TIMEOUT")
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: A wheel's file name: NAME-VERSION(-BUILD)-PY-ABI-PLATFORM.whl, one plain component.
_WHEEL_FILE = re.compile(r"^([A-Za-z0-9._+]+)-[A-Za-z0-9._+!]+(-[A-Za-z0-9._+]+){3,4}\.whl$")
#: uv's hint when a requirement has no usable wheel and building is off (--no-build)
_SDIST_ONLY = re.compile(r"Wheels are required for `([^`]+)`")


def normalize(name: str) -> str:
    """PEP 503 name: ``Foo_Bar`` and ``foo-bar`` are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Wheel:
    """One installed PyPI package: the exact wheel, as a lock records it."""

    name: str
    version: str
    url: str
    sha256: str
    requires_dist: tuple[str, ...] = ()
    requires_python: str | None = None

    @property
    def file_name(self) -> str:
        return unquote(urlparse(self.url).path.rsplit("/", 1)[-1])

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "url": self.url,
                "sha256": self.sha256, "requires_dist": list(self.requires_dist),
                "requires_python": self.requires_python}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Wheel:
        return cls(str(data["name"]), str(data["version"]), str(data["url"]),
                   str(data["sha256"]), tuple(data.get("requires_dist") or ()),
                   data.get("requires_python"))


@dataclass(frozen=True)
class PipSection:
    """An environment.yml ``pip:`` list: requirements plus index options."""

    requirements: tuple[str, ...] = ()
    options: tuple[str, ...] = ()  # uv arguments, e.g. ("--index-url", URL)


def parse_pip_section(path: Path, items: object) -> PipSection:
    """Check a ``pip:`` list; anything that cannot be installed exactly is refused by name."""
    if not isinstance(items, list):
        raise UsageError(f"{path} has a 'pip:' entry that is not a list; write it as "
                         "'- pip: [requests==2.32.3]'.")
    requirements: list[str] = []
    options: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise UsageError(f"{path} has a 'pip:' item that is not a requirement ({item!r}); "
                             "write each as 'name' or 'name==version'.")
        text = item.strip()
        if _CONTROL.search(text):
            # a newline would become a second requirements line nobody checked
            raise UsageError(f"{path} has the pip requirement {text!r}, which contains a line "
                             "break or control character; write one requirement per item.")
        if text.startswith("-"):
            flag, _, value = text.replace("=", " ", 1).partition(" ")
            if flag not in INDEX_OPTIONS or not value.strip():
                raise UsageError(
                    f"{path} has the pip option {text!r}, which mambaboot cannot install "
                    "exactly; only --index-url, --extra-index-url and --find-links (with a "
                    "value) are kept, list the packages themselves instead.")
            options += [INDEX_OPTIONS[flag], value.strip()]
            continue
        if not _NAME.match(text) or "://" in text or " @ " in text \
                or text.startswith((".", "/", "~", "git+")):
            raise UsageError(
                f"{path} has the pip requirement {text!r}, which is not a package from an "
                "index (a path, URL or VCS checkout cannot be locked with a sha256); publish "
                "it as a wheel to an index or drop it.")
        requirements.append(text)
    return PipSection(tuple(requirements), tuple(options))


# -- running uv ------------------------------------------------------------------------


def uv_binary() -> str:
    """The uv executable shipped by the ``uv`` wheel (a dependency of mambaboot)."""
    try:
        from uv import find_uv_bin
    except ImportError:  # pragma: no cover - a broken install
        raise EngineError("uv is not installed next to mambaboot, so PyPI packages cannot "
                          "be installed; reinstall mambaboot (pip install mambaboot).") from None
    return find_uv_bin()


def _environ(cache_root: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("UV_", "PIP_", "CONDA", "VIRTUAL_ENV", "PYTHON"))
            or k in KEPT_UV_VARS}
    return {**keep, "UV_CACHE_DIR": str(cache_root / "uv"), "UV_NO_CONFIG": "1",
            "NO_COLOR": "1"}


def _uv(args: Sequence[str], cache_root: Path, doing: str, *,
        stdin: str | None = None,
        fix: str = "fix the pip: section or the index and try again") -> str:
    """Run one uv command; its own last error lines become our error's details."""
    argv = [uv_binary(), *args]
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              env=_environ(cache_root), check=False,
                              stdin=None if stdin is not None else subprocess.DEVNULL)
    except OSError as exc:
        raise EngineError(f"uv could not be started ({exc.strerror}); reinstall mambaboot.",
                          ) from None
    if proc.returncode != 0:
        detail = "\n".join(line for line in proc.stderr.strip().splitlines()[-12:])
        sdists = sorted(set(_SDIST_ONLY.findall(proc.stderr)))
        if sdists:
            raise UsageError(
                f"The PyPI package(s) {', '.join(sdists)} have no wheel for this environment "
                "(only a source distribution, which would have to be built and cannot be "
                "locked exactly); pin a version that has wheels or drop it.")
        raise EngineError(f"uv failed {doing}; see its reason below, {fix}.", details=detail)
    return proc.stdout


# -- the environment's site-packages -------------------------------------------------


def site_packages(prefix: Path) -> list[Path]:
    """Where the environment's python keeps its distributions (Windows: Lib/)."""
    found = [*sorted(prefix.glob("lib/python3*/site-packages")), prefix / "Lib" / "site-packages"]
    return [p for p in found if p.is_dir()]


def installed(prefix: Path) -> dict[str, tuple[str, Path]]:
    """Every installed distribution: normalized name -> (version, its .dist-info folder)."""
    out: dict[str, tuple[str, Path]] = {}
    for folder in site_packages(prefix):
        for info in folder.glob("*.dist-info"):
            meta = _metadata(info)
            if meta.get("name") and meta.get("version"):
                out[normalize(meta["name"][0])] = (meta["version"][0], info)
    return out


def _metadata(info: Path) -> dict[str, list[str]]:
    """The METADATA headers of a .dist-info (lower-case keys, every value kept)."""
    try:
        text = (info / "METADATA").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    fields: dict[str, list[str]] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith((" ", "\t")):
            fields.setdefault(key.strip().lower(), []).append(value.strip())
    return fields


# -- environment.yml: resolve against the env, install, record --------------------------


def resolve_install(prefix: Path, python: Path, section: PipSection, cache_root: Path,
                    progress: ProgressCallback = no_progress) -> list[Wheel]:
    """Install ``section`` with conda's distributions kept, return the wheels it added.

    As pip does in a conda environment, what conda installed satisfies a
    requirement; unlike pip, it can never be replaced: every conda-installed
    distribution is a constraint at its version. What uv added is then looked
    up once more, pinned and ``--no-deps``, for the exact wheel URL and sha256.
    """
    progress("pypi-start", {"count": len(section.requirements)})
    before = installed(prefix)
    with tempfile.TemporaryDirectory(prefix="mambaboot-pypi-") as tmp:
        constraints = Path(tmp) / "conda-installed.txt"
        constraints.write_text("".join(f"{name}=={version}\n"
                                       for name, (version, _info) in sorted(before.items())),
                               encoding="utf-8")
        wanted = Path(tmp) / "requirements.txt"
        wanted.write_text("".join(f"{r}\n" for r in section.requirements), encoding="utf-8")
        _uv(["pip", "install", "--python", str(python), "--no-build", "--link-mode", "copy",
             "--constraints", str(constraints), "--quiet", "-r", str(wanted),
             *section.options], cache_root, "to install the pip: section")
        now = installed(prefix)
        added = {name: version for name, (version, _info) in now.items()
                 if before.get(name, ("",))[0] != version}
        if not added:
            progress("pypi-done", {"count": 0})
            return []
        pins = Path(tmp) / "added.txt"
        pins.write_text("".join(f"{name}=={version}\n" for name, version in sorted(added.items())),
                        encoding="utf-8")
        lock = Path(tmp) / "pylock.toml"
        _uv(["pip", "compile", str(pins), "--python", str(python), "--format", "pylock.toml",
             "--no-build", "--no-deps", "--output-file", str(lock), "--quiet",
             *section.options], cache_root, "to look up the installed wheels' URLs and sha256")
        planned = _read_pylock(lock)
    wheels = [_installed_wheel(p, now) for p in planned]
    progress("pypi-done", {"count": len(wheels)})
    return wheels


def _read_pylock(path: Path) -> list[dict[str, Any]]:
    """uv's PEP 751 lock: name, version and the wheels (url, sha256) of each package."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - the tomli backport (a dependency on 3.10)
        import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for pkg in data.get("packages", []):
        wheels = [(str(w["url"]), str(w.get("hashes", {}).get("sha256", "")))
                  for w in pkg.get("wheels", []) if w.get("url")]
        if not wheels or any(not sha for _url, sha in wheels):
            raise UsageError(
                f"The PyPI package {pkg.get('name')} {pkg.get('version')} has no wheel with a "
                "sha256 on the index (only a source distribution, which cannot be installed "
                "exactly); pin a version that has wheels or drop it.")
        out.append({"name": str(pkg["name"]), "version": str(pkg["version"]), "wheels": wheels})
    return out


def _installed_wheel(package: Mapping[str, Any], now: Mapping[str, tuple[str, Path]]) -> Wheel:
    """Which of the version's wheels uv installed: the one whose tags its WHEEL file lists."""
    version, info = now.get(normalize(package["name"]), ("", Path()))
    if version != package["version"]:
        raise EngineError(f"uv reported success but {package['name']} {package['version']} is "
                        "not installed; the environment was removed, try again.")
    tags = _wheel_file_tags(info)
    matches = [(url, sha) for url, sha in package["wheels"] if _filename_tags(url) == tags]
    if len(matches) != 1 and len(package["wheels"]) == 1:
        matches = list(package["wheels"])
    if len(matches) != 1:
        raise EngineError(f"Cannot tell which wheel of {package['name']} {package['version']} "
                        "uv installed (their tags are ambiguous); the environment was removed.")
    url, sha = matches[0]
    meta = _metadata(info)
    requires_python = next(iter(meta.get("requires-python", [])), None)
    return Wheel(package["name"], package["version"], url, sha,
                 tuple(meta.get("requires-dist", [])), requires_python)


def _wheel_file_tags(info: Path) -> frozenset[str]:
    try:
        text = (info / "WHEEL").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    return frozenset(line.split(":", 1)[1].strip() for line in text.splitlines()
                     if line.lower().startswith("tag:"))


def _filename_tags(url: str) -> frozenset[str]:
    """``name-ver(-build)-py-abi-plat.whl`` -> every tag it stands for (dots expand)."""
    stem = unquote(urlparse(url).path.rsplit("/", 1)[-1]).removesuffix(".whl")
    parts = stem.split("-")
    if len(parts) < 5:
        return frozenset()
    py, abi, plat = parts[-3:]
    return frozenset(f"{a}-{b}-{c}" for a in py.split(".") for b in abi.split(".")
                     for c in plat.split("."))


# -- a lock's pypi entries: fetch exactly, install exactly --------------------------------


def check_locked(wheels: Iterable[Wheel], where: str) -> list[Wheel]:
    """Every locked PyPI entry must be a wheel with a sha256: nothing else is exact.

    Its file name becomes a path in the cache, so it must be one plain
    component naming the entry's own project; two entries may not share a
    name (one would silently replace the other).
    """
    out = list(wheels)
    seen: set[str] = set()
    for wheel in out:
        if normalize(wheel.name) in seen:
            raise LockFormatError(f"The lockfile {where} lists the PyPI package {wheel.name} "
                                  "twice; keep one entry per package.")
        seen.add(normalize(wheel.name))
        if urlparse(wheel.url).scheme not in ("https", "http", "file"):
            raise LockFormatError(
                f"The lockfile {where} gives the PyPI package {wheel.name} the location "
                f"{wheel.url}, which is not an https://, http:// or file:// URL of a wheel; "
                "lock it from an index.")
        if not wheel.sha256:
            raise LockFormatError(f"The lockfile {where} has no sha256 for the PyPI package "
                                  f"{wheel.name}; every package must carry one, regenerate it "
                                  "with 'mambaboot lock' or 'pixi lock'.")
        if not wheel.file_name.endswith(".whl"):
            raise LockFormatError(
                f"The lockfile {where} lists the PyPI package {wheel.name} as {wheel.url}, which "
                "is not a wheel (a source distribution, path or git checkout must be built, so "
                "it cannot be installed exactly); lock a version that has wheels.")
        named = _WHEEL_FILE.match(wheel.file_name)
        if named is None or normalize(named.group(1)) != normalize(wheel.name):
            raise LockFormatError(
                f"The lockfile {where} lists the PyPI package {wheel.name} as "
                f"{wheel.file_name!r}, which is not a wheel file name of that package; "
                "regenerate the lock.")
    return out


def fetch_wheels(wheels: Sequence[Wheel], folder: Path, *, source: Path | None = None,
                 offline: bool = False, progress: ProgressCallback = no_progress,
                 ) -> dict[str, Path]:
    """Each wheel as a local file in ``folder`` whose sha256 was checked (name -> file).

    From ``source`` (a bundle's wheels/) when given, else kept from an earlier
    fetch, else downloaded with the same retries and checks as conda archives.
    """
    from mambaboot.errors import MissingPackagesError
    from mambaboot.net import HttpSettings, download_verified, make_client

    out: dict[str, Path] = {}
    missing: list[Wheel] = []
    for wheel in wheels:
        dest = folder / wheel.file_name
        given = source / wheel.file_name if source is not None else None
        for candidate in (given, dest):
            if candidate is not None and candidate.is_file() \
                    and file_digest(candidate, "sha256")[0] == wheel.sha256:
                out[wheel.name] = candidate
                break
        else:
            missing.append(wheel)
    if missing and (offline or source is not None):
        names = ", ".join(w.file_name for w in missing[:5])
        raise MissingPackagesError(
            f"{len(missing)} PyPI wheel(s) are not available offline ({names}); run once "
            "with the network, or use a bundle made by 'mambaboot bundle'.")
    if missing:
        with make_client(HttpSettings.from_env()) as client:
            for wheel in missing:
                dest = folder / wheel.file_name
                download_verified(wheel.url, dest, expected=wheel.sha256, client=client,
                                  settings=HttpSettings.from_env(), progress=progress)
                out[wheel.name] = dest
    return out


def install_exact(python: Path, wheels: Sequence[Wheel], files: Mapping[str, Path],
                  cache_root: Path, progress: ProgressCallback = no_progress) -> None:
    """uv installs exactly these checked files: no index, no resolution, no dependencies."""
    if not wheels:
        return
    progress("pypi-start", {"count": len(wheels)})
    with tempfile.TemporaryDirectory(prefix="mambaboot-pypi-") as tmp:
        wanted = Path(tmp) / "wanted.txt"
        wanted.write_text("".join(f"{w.name} @ {files[w.name].resolve().as_uri()} "
                                  f"--hash=sha256:{w.sha256}\n" for w in wheels),
                          encoding="utf-8")
        _uv(["pip", "install", "--python", str(python), "--no-deps", "--no-build",
             "--no-index", "--offline", "--require-hashes", "--link-mode", "copy",
             "--quiet", "-r", str(wanted)], cache_root, "to install the locked PyPI packages",
            fix="check that the lock's wheels suit this environment's python")
    progress("pypi-done", {"count": len(wheels)})


def check_owned(prefix: Path, wheels: Sequence[Wheel], conda: Mapping[str, str]) -> None:
    """No wheel wrote over a conda package's file (``conda``: path -> package) or into a
    path mambaboot owns.

    uv keeps the install inside the environment but, like pip, overwrites what
    is there: a wheel shipping ``numpy/__init__.py`` replaces conda's numpy, one
    shipping ``.data/data/.mambaboot/env.json`` replaces the manifest. Checked
    from each wheel's RECORD right after uv ran; the create then fails and the
    environment is removed.
    """
    from mambaboot.errors import UnsafePackageError
    from mambaboot.packages.rules import RESERVED_TOP

    now = installed(prefix)
    for wheel in wheels:
        info = now.get(normalize(wheel.name), ("", None))[1]
        if info is None:
            continue
        for rel in _record_paths(prefix, info):
            owner = conda.get(rel)
            if owner is None and rel.split("/", 1)[0] not in RESERVED_TOP \
                    and not rel.startswith("../"):
                continue
            what = (f"which the conda package {owner} installed" if owner
                    else "a path mambaboot keeps for itself")
            raise UnsafePackageError(
                f"Refused the PyPI package {wheel.name}: it wrote {rel}, {what}; the "
                "environment was removed, drop it from the pip: section or pin another version.")


def _record_paths(prefix: Path, info: Path) -> list[str]:
    """The prefix-relative paths a distribution's RECORD lists."""
    base = info.parent
    return [os.path.relpath(os.path.normpath(base / row[0]), prefix).replace(os.sep, "/")
            for row in _record_rows(info) or []]


def _record_rows(info: Path) -> list[list[str]] | None:
    """A .dist-info's RECORD as rows (path, hash, size); None when it has none."""
    import csv

    try:
        text = (info / "RECORD").read_text(encoding="utf-8")
    except OSError:
        return None
    return [row for row in csv.reader(text.splitlines()) if row]


# -- the record, the lock, verify ----------------------------------------------------------


def record(prefix: Path, wheels: Sequence[Wheel], options: Sequence[str] = ()) -> None:
    """``.mambaboot/pypi.json``: what the lockfile step, exports and ``verify`` read
    (``options``: the pip: section's index options, for an environment.yml export)."""
    path = prefix / META_DIR / RECORD_FILE
    if not wheels:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({"wheels": [w.to_json() for w in wheels],
                                   "options": list(options)}, indent=1))


def recorded(prefix: Path) -> list[Wheel]:
    return [Wheel.from_json(w) for w in _record_data(prefix).get("wheels", [])]


def recorded_options(prefix: Path) -> list[str]:
    """The index options the wheels were installed with, as pip: section lines."""
    options = [str(o) for o in _record_data(prefix).get("options", [])]
    return [f"{flag} {value}" for flag, value in zip(options[::2], options[1::2], strict=False)]


def _record_data(prefix: Path) -> dict[str, Any]:
    try:
        data = json.loads((prefix / META_DIR / RECORD_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise EngineError(f"{prefix / META_DIR / RECORD_FILE} is unreadable ({exc}); "
                          "recreate the environment.") from None
    return data if isinstance(data, dict) else {}


def add_to_lock(lock: Path, wheels: Sequence[Wheel]) -> None:
    """Add the wheels to every platform of lock.yml's environment, as pixi.lock does."""
    if not wheels:
        return
    import yaml

    data = yaml.safe_load(lock.read_text(encoding="utf-8"))
    for env in (data.get("environments") or {}).values():
        for entries in (env.get("packages") or {}).values():
            entries.extend({"pypi": w.url} for w in wheels)
    packages = data.setdefault("packages", [])
    for w in wheels:
        entry: dict[str, Any] = {"pypi": w.url, "name": w.name, "version": w.version,
                                 "sha256": w.sha256}
        if w.requires_dist:
            entry["requires_dist"] = list(w.requires_dist)
        if w.requires_python:
            entry["requires_python"] = w.requires_python
        packages.append(entry)
    write_atomic(lock, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def check_installed(prefix: Path, wheels: Sequence[Wheel]) -> list[str]:
    """Each recorded wheel is installed at its version and every file matches its RECORD."""
    problems: list[str] = []
    now = installed(prefix)
    for wheel in wheels:
        version, info = now.get(normalize(wheel.name), ("", Path()))
        if version != wheel.version:
            problems.append(f"{wheel.name} {wheel.version} is "
                            + (f"now {version}" if version else "no longer installed"))
            continue
        problems += _record_drift(wheel.name, info)
    return problems


def _record_drift(name: str, info: Path) -> list[str]:
    rows = _record_rows(info)
    if rows is None:
        return [f"{name} has no RECORD file"]
    drift = []
    for row in rows:
        if len(row) < 2 or not row[1].startswith("sha256="):
            continue
        try:
            digest = bytes.fromhex(file_digest(os.path.normpath(info.parent / row[0]))[0])
        except OSError:
            drift.append(f"{name}: {row[0]} is missing")
            continue
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != row[1][len("sha256="):]:
            drift.append(f"{name}: {row[0]} was modified")
    return drift

