"""Run the real CLI in a subprocess with every user-level directory redirected.

HOME, XDG_*, APPDATA, LOCALAPPDATA, USERPROFILE and TMPDIR point at empty
temporary folders, so a test can prove that nothing was written outside the
environments root and the cache (DESIGN.md principle 2).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

USER_DIRS = ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME",
             "APPDATA", "LOCALAPPDATA", "USERPROFILE")
STRIP_PREFIXES = ("CONDA", "MAMBA", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MAMBABOOT",
                  "PY_ENVS")
AWKWARD = "envs with space èрт 中"


def snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@dataclass
class Sandbox:
    base: Path
    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def make(cls, base: Path) -> Sandbox:
        root = base / AWKWARD
        root.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(STRIP_PREFIXES)}
        for name in USER_DIRS:
            folder = base / "user" / name.lower()
            folder.mkdir(parents=True)
            env[name] = str(folder)
        tmp = base / "user" / "tmp"
        tmp.mkdir()
        env["TMPDIR"] = str(tmp)
        env["MAMBABOOT_ROOT"] = str(root)
        env["PYTHONUNBUFFERED"] = "1"
        return cls(base, root, env)

    @property
    def user_dirs(self) -> Path:
        return self.base / "user"

    def run(self, *args: str, check: bool | None = None, timeout: float = 600,
            env: dict[str, str] | None = None, **kw: object) -> subprocess.CompletedProcess[str]:
        """``python -m mambaboot ARGS`` with the sandbox environment; check=True asserts exit 0."""
        if "input" not in kw:
            kw["stdin"] = subprocess.DEVNULL
        proc = subprocess.run(
            [sys.executable, "-m", "mambaboot", *args], env=env or self.env, text=True,
            capture_output=True, timeout=timeout, check=False,
            cwd=self.base, **kw)  # type: ignore[call-overload]
        if check:
            assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def assert_user_dirs_untouched(self) -> None:
        written = sorted(snapshot(self.user_dirs) - {n.lower() for n in USER_DIRS} - {"tmp"})
        assert written == [], f"files written outside root and cache: {written}"


def demo_env(base: Path, channel: Path, *extra: str,
             engine: EngineUnderTest | None = None) -> tuple[Sandbox, Path]:
    """A real ``demo PYVER`` environment with demo-activate, made through the CLI."""
    from mambaboot.devchannel import PYTHON_VERSION

    pyver = ".".join(PYTHON_VERSION.split(".")[:2])
    sandbox = Sandbox.make(base)
    args = engine.args if engine else []
    sandbox.run("create", "demo", pyver, "-c", str(channel), "--with", "demo-activate", *extra,
                *args, env=engine.env(sandbox.env) if engine else None, check=True)
    return sandbox, sandbox.root / ("demo_" + pyver.replace(".", "_"))


class EngineUnderTest:
    """Command-line arguments and environment that select one engine for a create."""

    def __init__(self, name: str, args: list[str], extra_env: dict[str, str]) -> None:
        self.name, self.args, self.extra_env = name, args, extra_env

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {**base, **self.extra_env}


def real_micromamba(mirror: Path) -> tuple[EngineUnderTest, object] | None:
    """The real micromamba from ../shared served from a 127.0.0.1 release mirror.

    Returns the engine and the server (close it when done), or None when no real
    binary is available. The binary goes through the normal sha256-checked fetch.
    """
    from mambaboot.devchannel import ChannelServer
    from mambaboot.engines.micromamba.binary import current_subdir
    from tests.support.micromamba_standin import release_tree, shared_micromamba

    real = shared_micromamba()
    if real is None:
        return None
    out = subprocess.run([real, "--version"], capture_output=True, text=True, check=True)
    version = f"{out.stdout.strip().split()[0]}-0"
    release_tree(mirror, version, current_subdir(), Path(real).read_bytes())
    server = ChannelServer(mirror)
    engine = EngineUnderTest("micromamba", ["--engine", "micromamba", "--micromamba-version",
                                            version], {"MAMBABOOT_MICROMAMBA_URL": server.url})
    return engine, server
