"""A private temp directory and a clean environment for every process we time.

Nothing is written outside the work dir: the environments root, the package
caches, HOME/XDG dirs, TMPDIR and Python's bytecode cache
(``PYTHONPYCACHEPREFIX``) all live inside it. The CLI runs the way
``tests/support/sandbox.py`` runs it: conda/venv/Python steering variables stripped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

STRIP_PREFIXES = ("CONDA", "MAMBA", "PYTHON", "VIRTUAL_ENV", "MAMBABOOT", "PY_ENVS")
USER_DIRS = ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")
HERE = Path(__file__).resolve().parent


class Workspace:
    """Layout: ``root/`` envs, ``cache/`` shared warm cache, ``scratch/`` per-rep dirs."""

    def __init__(self, base: Path | None = None) -> None:
        self.owned = base is None
        self.base = Path(tempfile.mkdtemp(prefix="mambaboot-bench-")) if base is None else base
        self.base.mkdir(parents=True, exist_ok=True)
        self.root = self._dir("root")
        self.cache = self._dir("cache")
        self.channels = self._dir("channels")
        self.scratch = self._dir("scratch")
        self.env = self._environ()

    def _dir(self, name: str) -> Path:
        path = self.base / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith(STRIP_PREFIXES)}
        for name in USER_DIRS:
            env[name] = str(self._dir(f"user/{name.lower()}"))
        env["TMPDIR"] = str(self._dir("user/tmp"))
        env["MAMBABOOT_ROOT"] = str(self.root)
        # bytecode is cached (as for an installed tool) but inside the work dir
        env["PYTHONPYCACHEPREFIX"] = str(self._dir("pycache"))
        return env

    def mambaboot(self) -> list[str]:
        """The console script next to our interpreter (what users run), else ``-m``."""
        script = Path(sys.executable).parent / "mambaboot"
        return [str(script)] if script.is_file() else [sys.executable, "-m", "mambaboot"]

    def run(self, argv: list[str], *, check: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(argv, env=env or self.env, cwd=self.base, text=True,
                              capture_output=True, stdin=subprocess.DEVNULL, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}\n"
                               f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
        return proc

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run([*self.mambaboot(), *args], check=check)

    def script(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one of our child scripts (``raw_rattler.py``, ``phases.py``) cleanly."""
        return self.run([sys.executable, str(HERE / name), *args])

    def fresh(self, name: str) -> Path:
        """An empty scratch directory (removed first if a previous rep left it)."""
        path = self.scratch / name
        remove(path)
        return path

    def close(self) -> None:
        if self.owned:
            remove(self.base)


def remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
