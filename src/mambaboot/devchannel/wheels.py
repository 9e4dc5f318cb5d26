"""Repackage pinned PyPI wheels as conda packages laid out like conda-forge's.

No conda channel is reachable where this project is built and tested, but PyPI
is: the real ``conda`` needs some twenty Python libraries, and channels need
``pip`` (micromamba and mamba make it a dependency of ``python``).  Each wheel
is fetched once with ``pip download --only-binary :all: --no-deps`` for the
running interpreter, cached on disk by name and version, and turned into:

- a pure wheel -> ``noarch: python`` (payload under ``site-packages/``, console
  scripts as ``info/link.json`` entry points), like conda-forge's noarch builds;
- a binary wheel -> a package for the current subdir with the payload under
  ``lib/pythonX.Y/site-packages/`` and a ``python X.Y.*`` dependency.

``Requires-Dist`` (markers evaluated for the running interpreter) becomes the
package's conda ``depends``, so a solver pulls the closure in.
"""

from __future__ import annotations

import email.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rattler

from mambaboot.devchannel.spec import POSIX_PLACEHOLDER, FileSpec, PackageSpec, current_subdir

PY_XY = f"{sys.version_info[0]}.{sys.version_info[1]}"

#: Pinned PyPI releases (conda name -> version): conda 25.9.1's dependencies,
#: the rattler solver plugin and its py-rattler, and pip.  Pins keep channels
#: (and their cache keys) reproducible; bump them together.
PINS: dict[str, str] = {
    "archspec": "0.2.7",
    "backports.zstd": "1.8.0",
    "boltons": "26.2.0",
    "certifi": "2026.10.19.post1",
    "charset-normalizer": "3.5.3",
    "conda-package-handling": "2.6.0",
    "conda-package-streaming": "0.13.0",
    "conda-rattler-solver": "0.2.0",
    "distro": "1.9.0",
    "frozendict": "2.5.1",
    "idna": "3.20",
    "jsonpatch": "1.48",
    "jsonpointer": "3.12",
    "packaging": "26.4",
    "pip": "26.3",
    "platformdirs": "4.14.9",
    "pluggy": "1.7.0",
    "py-rattler": "0.26.0",
    "pycosat": "0.6.6",
    "requests": "2.34.2",
    "ruamel.yaml": "0.18.17",
    "ruamel.yaml.clib": "0.2.15",
    "setuptools": "84.2.1",
    "tomli": "2.5.0",
    "tomli-w": "1.2.0",
    "tqdm": "4.70.1",
    "truststore": "0.10.5",
    "urllib3": "2.8.0",
    "zstandard": "0.25.0",
}

#: Projects PyPI ships as source only (pycosat has no wheels): built once with
#: ``pip wheel`` when a C compiler is present, else left out (see `fetch_wheels`).
SOURCE_ONLY = frozenset({"pycosat"})


class WheelError(RuntimeError):
    """A pinned wheel could not be fetched or repackaged."""


def normalize(name: str) -> str:
    """PEP 503 name, the key wheels and requirements agree on (``ruamel-yaml``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def default_wheel_cache() -> Path:
    """Where wheels are kept between builds when the caller names no cache."""
    env = os.environ.get("MAMBABOOT_DEVCHANNEL_WHEELS")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mambaboot" / "devchannel-wheels"


def _pip(args: list[str]) -> subprocess.CompletedProcess[str]:
    # --no-cache-dir: pip's own cache lives in HOME; ours is the folder the caller named
    return subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check",
                           "--no-input", "--no-cache-dir", "-q"], capture_output=True, text=True,
                          check=False)


def _wheel_key(filename: str) -> str:
    return normalize(filename.split("-", 1)[0])


def fetch_wheels(
    pins: Mapping[str, str], cache_dir: Path, extra: Mapping[str, Path] | None = None
) -> dict[str, Path]:
    """Return conda name -> wheel path for every pin, downloading only missing ones.

    Each wheel lives in ``cache_dir/<name>-<version>/`` (one folder per pin,
    written by rename, so concurrent builders never see half a wheel).  A
    `SOURCE_ONLY` project that cannot be built here is left out of the result.
    `extra` wheels (local files, e.g. the shared conda wheel) are passed through.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    missing: dict[str, str] = {}
    for name, version in pins.items():
        slot = cache_dir / f"{normalize(name)}-{version}"
        wheels = sorted(slot.glob("*.whl")) if slot.is_dir() else []
        if wheels:
            found[name] = wheels[0]
        else:
            missing[name] = version
    if missing:
        found.update(_download(missing, cache_dir))
    for name, path in (extra or {}).items():
        found[name] = Path(path)
    return found


def _download(missing: Mapping[str, str], cache_dir: Path) -> dict[str, Path]:
    tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=cache_dir))
    try:
        binary = [f"{n}=={v}" for n, v in sorted(missing.items()) if n not in SOURCE_ONLY]
        if binary:
            proc = _pip(["download", "--only-binary", ":all:", "--no-deps", "-d", str(tmp),
                         *binary])
            if proc.returncode:
                raise WheelError(f"pip download failed for {' '.join(binary)}: "
                                 f"{proc.stderr.strip()[-2000:]}")
        for name in sorted(set(missing) & SOURCE_ONLY):
            proc = _pip(["wheel", "--no-deps", "-w", str(tmp), f"{name}=={missing[name]}"])
            if proc.returncode:
                print(f"devchannel: could not build {name} {missing[name]} from source here "
                      "(no wheel on PyPI, no compiler?); packages needing it go without",
                      file=sys.stderr)
        by_key = {_wheel_key(p.name): p for p in tmp.glob("*.whl")}
        out: dict[str, Path] = {}
        for name, version in missing.items():
            wheel = by_key.get(normalize(name))
            if wheel is None:
                continue
            slot = cache_dir / f"{normalize(name)}-{version}"
            staged = Path(tempfile.mkdtemp(prefix=".slot-", dir=cache_dir))
            wheel.replace(staged / wheel.name)
            try:
                staged.rename(slot)
            except OSError:  # a concurrent builder put it there first
                shutil.rmtree(staged, ignore_errors=True)
            out[name] = next(slot.glob("*.whl"))
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- reading a wheel -----------------------------------------------------------------


@dataclass
class Wheel:
    """What a wheel says about itself, and its files by archive path."""

    name: str  # the conda name (a key of PINS or the caller's)
    version: str
    pure: bool
    requires: list[str]
    requires_python: str | None
    console_scripts: list[tuple[str, str]]  # (command, "module:func")
    members: dict[str, bytes]

    @classmethod
    def read(cls, name: str, path: Path) -> Wheel:
        """Parse `path` (a ``.whl``) into memory; `name` is its conda name."""
        with zipfile.ZipFile(path) as zf:
            members = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
        dist_info = next(k.split("/", 1)[0] for k in members
                         if k.split("/", 1)[0].endswith(".dist-info") and k.endswith("/METADATA"))
        meta = email.parser.BytesParser().parsebytes(members[f"{dist_info}/METADATA"])
        wheel_meta = email.parser.BytesParser().parsebytes(members[f"{dist_info}/WHEEL"])
        scripts: list[tuple[str, str]] = []
        ep_text = members.get(f"{dist_info}/entry_points.txt", b"").decode()
        section = ""
        for raw in ep_text.splitlines():
            line = raw.strip()
            if line.startswith("["):
                section = line.strip("[]")
            elif "=" in line and section in ("console_scripts", "gui_scripts"):
                cmd, target = (s.strip() for s in line.split("=", 1))
                scripts.append((cmd, target))
        return cls(
            name=name,
            version=str(meta["Version"]),
            pure=str(wheel_meta.get("Root-Is-Purelib", "true")).lower() == "true",
            requires=[str(r) for r in meta.get_all("Requires-Dist") or []],
            requires_python=meta.get("Requires-Python"),
            console_scripts=scripts,
            members=members,
        )


def _packaging() -> Any:
    """``packaging`` (requirements and markers), or pip's vendored copy on a bare machine."""
    try:
        import packaging.requirements

        return packaging
    except ImportError:  # pip is needed to download anyway
        import pip._vendor.packaging.requirements

        return pip._vendor.packaging


def conda_depends(wheel: Wheel, available: Mapping[str, str]) -> list[str]:
    """``Requires-Dist`` as conda match specs, for this interpreter, without extras.

    `available` maps normalized PyPI names to conda names; a requirement on a
    project that is not available is an error (the channel would not solve).
    """
    pkg = _packaging()
    out: list[str] = []
    for text in wheel.requires:
        req = pkg.requirements.Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        conda_name = available.get(normalize(req.name))
        if conda_name is None:
            raise WheelError(f"{wheel.name} needs {req.name}, which is not pinned")
        spec = ",".join(sorted(str(s) for s in req.specifier if s.operator != "==="))
        match = f"{conda_name} {spec}" if spec else conda_name
        try:
            rattler.MatchSpec(match)
        except Exception:  # an untranslatable specifier: keep the name only
            match = conda_name
        out.append(match)
    return sorted(set(out))


def _python_dep(wheel: Wheel) -> str:
    if not wheel.pure:
        return f"python {PY_XY}.*"
    floor = re.fullmatch(r"\s*>=\s*(\d+(?:\.\d+)*)\s*", wheel.requires_python or "")
    return f"python >={floor.group(1)}" if floor else "python"


def _script(module_func: str) -> bytes:
    """A console-script launcher like the ones conda writes for entry points."""
    module, _, func = module_func.partition(":")
    func = func.split("[", 1)[0].strip()
    head = func.split(".", 1)[0]
    return (f"#!{POSIX_PLACEHOLDER}/bin/python\n"
            "# -*- coding: utf-8 -*-\n"
            "import re\nimport sys\n\n"
            f"from {module.strip()} import {head}\n\n"
            "if __name__ == '__main__':\n"
            "    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n"
            f"    sys.exit({func}())\n").encode()


def wheel_package(
    wheel: Wheel,
    available: Mapping[str, str],
    *,
    extra_depends: Iterable[str] = (),
    drop_depends: Iterable[str] = (),
    drop_scripts: Iterable[str] = (),
    extra_files: Mapping[str, bytes | FileSpec] | None = None,
    build_number: int = 0,
) -> PackageSpec:
    """The conda package for `wheel` (see the module docstring for the layout)."""
    sp = "site-packages" if wheel.pure else f"lib/python{PY_XY}/site-packages"
    files: dict[str, bytes | FileSpec] = {}
    for rel, data in wheel.members.items():
        top, _, rest = rel.partition("/")
        if top.endswith(".data") and rest:
            kind, _, inner = rest.partition("/")
            if kind in ("purelib", "platlib"):
                files[f"{sp}/{inner}"] = data
            elif kind == "scripts":
                if data.startswith(b"#!python"):
                    shebang = f"#!{POSIX_PLACEHOLDER}/bin/python".encode()
                    files[f"bin/{inner}"] = FileSpec(shebang + data[len(b"#!python"):],
                                                     executable=True,
                                                     placeholder=POSIX_PLACEHOLDER)
                else:
                    files[f"bin/{inner}"] = FileSpec(data, executable=True)
            elif kind == "data":
                files[inner] = data
            continue
        mode_x = rel.endswith(".so") or ".so." in rel
        files[f"{sp}/{rel}"] = FileSpec(data, executable=mode_x) if mode_x else data
    dist_info = next(k.split("/", 1)[0] for k in wheel.members if ".dist-info/" in k)
    files[f"{sp}/{dist_info}/INSTALLER"] = b"conda\n"
    dropped_scripts = set(drop_scripts)
    scripts = [(c, t) for c, t in wheel.console_scripts if c not in dropped_scripts]
    entry_points: list[str] = []
    if wheel.pure:
        entry_points = [f"{cmd} = {target}" for cmd, target in scripts]
    else:
        for cmd, target in scripts:
            files[f"bin/{cmd}"] = FileSpec(_script(target), executable=True,
                                           placeholder=POSIX_PLACEHOLDER)
    files.update(extra_files or {})
    dropped = set(drop_depends)
    depends = [d for d in conda_depends(wheel, available) if d.split()[0] not in dropped]
    depends = sorted({*depends, _python_dep(wheel), *extra_depends})
    pyxy = PY_XY.replace(".", "")
    return PackageSpec(
        name=wheel.name,
        version=wheel.version,
        build=f"pyh0_{build_number}" if wheel.pure else f"py{pyxy}h0_{build_number}",
        build_number=build_number,
        depends=depends,
        noarch="python" if wheel.pure else None,
        subdir="noarch" if wheel.pure else current_subdir(),
        files=files,
        entry_points=entry_points,
        license="see site-packages/*.dist-info",
        summary=f"{wheel.name} {wheel.version} repackaged from its PyPI wheel for offline tests",
        fmt="conda",
    )


def extract_wheels(wheels: Iterable[Path], dest: Path) -> Path:
    """Unpack wheels into one import directory (how build-time code runs them)."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in wheels:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                top, _, rest = info.filename.partition("/")
                if top.endswith(".data"):
                    kind, _, inner = rest.partition("/")
                    if kind not in ("purelib", "platlib") or not inner:
                        continue
                    target = dest / inner
                else:
                    target = dest / info.filename
                if info.is_dir():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))
    return dest
