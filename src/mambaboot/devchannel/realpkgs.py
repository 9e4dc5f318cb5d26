"""Real ``conda`` and ``mamba`` packages, built from the material in ``../shared``.

Stand-ins that print a version never showed how the real programs behave in
an environment mambaboot made (issue 12).  conda-forge cannot be reached here,
so the packages are assembled the way conda-forge's are:

- ``conda`` 25.9.1: ``noarch: python`` from the shared wheel (built from
  conda's sources), depending on its libraries repackaged from PyPI wheels
  (`wheels`) and on the ``conda-rattler-solver`` plugin (conda's default
  solver, libmamba, is not on PyPI).  Like conda-forge's recipe, the package
  carries the prefix-local files of ``conda init --install`` (``bin/conda``,
  ``condabin/conda``, ``etc/profile.d/conda.sh`` ...), generated at build time
  by conda's own ``make_install_plan`` and ``run_plan`` with the prefix
  replaced by the placeholder, so installers relocate them.
- ``mamba`` 2.3.3: the shared mamba binary as ``bin/mamba`` (the C++ mamba
  2.x; conda-forge's package no longer depends on conda), plus the
  ``etc/profile.d/mamba.sh`` hook the binary itself prints.

Where the material lives: `find_shared_dir`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mambaboot.devchannel.spec import POSIX_PLACEHOLDER, FileSpec, PackageSpec, current_subdir
from mambaboot.devchannel.wheels import (
    PINS,
    PY_XY,
    Wheel,
    extract_wheels,
    fetch_wheels,
    normalize,
    wheel_package,
)

REAL_CONDA_VERSION = "25.9.1"
REAL_MAMBA_VERSION = "2.3.3"
MENUINST_VERSION = "2.5.2"

#: Environment variable naming the shared folder (wins over the guesses).
SHARED_ENV = "MAMBABOOT_SHARED_DIR"


@dataclass(frozen=True)
class SharedMaterial:
    """The shared files the real packages are built from (absent ones are None)."""

    root: Path
    conda_wheel: Path | None
    menuinst_wheel: Path | None
    mamba_binary: Path | None

    @property
    def has_conda(self) -> bool:
        """Both wheels conda needs from the shared folder are present."""
        return self.conda_wheel is not None and self.menuinst_wheel is not None

    def digests(self) -> list[str]:
        """``name:sha256`` of every file used: part of the demo channel's cache key."""
        out = []
        for path in (self.conda_wheel, self.menuinst_wheel, self.mamba_binary):
            if path is not None:
                out.append(f"{path.name}:{hashlib.sha256(path.read_bytes()).hexdigest()}")
        return out


def candidates() -> list[Path]:
    """$MAMBABOOT_SHARED_DIR, then ``<checkout>/../shared``, then ``../shared`` from the cwd."""
    out: list[Path] = []
    env = os.environ.get(SHARED_ENV)
    if env:
        out.append(Path(env))
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "src" / "mambaboot").is_dir():  # installed editable from a checkout
        out.append(checkout.parent / "shared")
    out.append(Path.cwd().parent / "shared")
    return out


def find_shared_dir(subdir: str | None = None) -> SharedMaterial | None:
    """The first candidate folder holding the conda wheels or the mamba binary."""
    subdir = subdir or current_subdir()
    for root in candidates():
        conda = root / "conda" / f"conda-{REAL_CONDA_VERSION}-py3-none-any.whl"
        menuinst = root / "conda" / f"menuinst-{MENUINST_VERSION}-py3-none-any.whl"
        mamba = root / "mamba" / REAL_MAMBA_VERSION / subdir / "mamba"
        material = SharedMaterial(
            root=root,
            conda_wheel=conda if conda.is_file() else None,
            menuinst_wheel=menuinst if menuinst.is_file() else None,
            mamba_binary=mamba if mamba.is_file() else None,
        )
        if material.has_conda or material.mamba_binary is not None:
            return material
    return None


# --- conda ---------------------------------------------------------------------------

_RUN_INIT_PLAN = """
import os, sys
# conda takes CONDA_EXE / CONDA_PYTHON_EXE / _CONDA_ROOT from where it runs: pretend it
# runs from the scratch prefix, as it does when conda-forge's recipe calls it.
sys.prefix = sys.exec_prefix = sys.argv[1]
sys.executable = os.path.join(sys.argv[1], "bin", "python")
from conda.core.initialize import make_install_plan, run_plan
plan = make_install_plan(sys.argv[1])
run_plan(plan)
failed = [s for s in plan if str(s.get("result")) == "needs sudo"]
sys.exit(1 if failed else 0)
"""


def conda_init_files(site: Path) -> dict[str, bytes | FileSpec]:
    """The files ``conda init --install`` lays out in a prefix, placeholder in place of it.

    Runs conda's own plan (imported from `site`, the unpacked wheels) against a
    scratch prefix with a short path, so shebangs stay plain ``#!PREFIX/bin/python``.
    """
    with tempfile.TemporaryDirectory(prefix="mb-condainit-") as tmp:
        prefix = Path(tmp) / "p"
        prefix.mkdir()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp,
               "PYTHONPATH": str(site), "PYTHONNOUSERSITE": "1", "LANG": "C.UTF-8",
               "CONDARC": str(Path(tmp) / "condarc")}  # fmt: skip
        proc = subprocess.run([sys.executable, "-c", _RUN_INIT_PLAN, str(prefix)], env=env,
                              capture_output=True, text=True, check=False, timeout=120)
        if proc.returncode:
            raise RuntimeError(f"conda's init plan failed: {proc.stderr.strip()[-2000:]}")
        files: dict[str, bytes | FileSpec] = {}
        needle = str(prefix).encode()
        # conda.csh sources conda's own copy under site-packages: where it will be installed
        site_needle = str(site).encode()
        installed_site = f"{POSIX_PLACEHOLDER}/lib/python{PY_XY}/site-packages".encode()
        for path in sorted(p for p in prefix.rglob("*") if p.is_file()):
            rel = path.relative_to(prefix).as_posix()
            data = path.read_bytes().replace(site_needle, installed_site)
            executable = os.access(path, os.X_OK)
            if needle in data or installed_site in data:
                data = data.replace(needle, POSIX_PLACEHOLDER.encode())
                files[rel] = FileSpec(data, executable=executable, placeholder=POSIX_PLACEHOLDER)
            else:
                files[rel] = FileSpec(data, executable=executable)
        return files


def conda_packages(material: SharedMaterial, wheel_cache: Path) -> list[PackageSpec]:
    """``conda`` and every package it needs (its libraries, the solver plugin, pip)."""
    assert material.conda_wheel is not None and material.menuinst_wheel is not None
    paths = fetch_wheels(PINS, wheel_cache, extra={"conda": material.conda_wheel,
                                                   "menuinst": material.menuinst_wheel})
    wheels = {name: Wheel.read(name, path) for name, path in paths.items()}
    known = {normalize(n): n for n in [*PINS, "conda", "menuinst"]}
    missing = {n for n in known.values() if n not in wheels}  # e.g. pycosat with no compiler
    specs: list[PackageSpec] = []
    for name, wheel in sorted(wheels.items()):
        if name == "conda":
            continue
        specs.append(wheel_package(wheel, known, drop_depends=missing))
    with tempfile.TemporaryDirectory(prefix="mb-condasite-") as tmp:
        closure = [p for n, p in paths.items() if n not in ("py-rattler", "conda-rattler-solver")]
        site = extract_wheels(closure, Path(tmp) / "site")
        init_files = conda_init_files(site)
    specs.append(wheel_package(
        wheels["conda"], known, drop_depends=missing, drop_scripts=["conda"],
        extra_depends=["conda-rattler-solver"], extra_files=init_files,
    ))  # fmt: skip
    return specs


# --- mamba ---------------------------------------------------------------------------


def mamba_package(material: SharedMaterial) -> PackageSpec:
    """conda-forge's mamba 2.x layout: ``bin/mamba`` and its ``etc/profile.d`` hook."""
    assert material.mamba_binary is not None
    binary = material.mamba_binary.read_bytes()
    files: dict[str, bytes | FileSpec] = {"bin/mamba": FileSpec(binary, executable=True)}
    with tempfile.TemporaryDirectory(prefix="mb-mamba-") as tmp:
        prefix = Path(tmp) / "p"
        exe = prefix / "bin" / "mamba"
        exe.parent.mkdir(parents=True)
        exe.write_bytes(binary)
        exe.chmod(0o755)
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "LANG": "C.UTF-8"}
        proc = subprocess.run([str(exe), "shell", "hook", "--shell", "bash", "--root-prefix",
                               str(prefix)], env=env, capture_output=True, check=False,
                              timeout=60)  # fmt: skip
        if proc.returncode == 0 and proc.stdout.strip():
            hook = proc.stdout.replace(str(prefix).encode(), POSIX_PLACEHOLDER.encode())
            files["etc/profile.d/mamba.sh"] = FileSpec(hook, placeholder=POSIX_PLACEHOLDER)
    return PackageSpec(
        "mamba", REAL_MAMBA_VERSION, build="h0_0", files=files, license="BSD-3-Clause",
        summary="mamba 2.3.3 (the real binary from ../shared/mamba) for offline tests",
        fmt="conda",
    )  # fmt: skip
