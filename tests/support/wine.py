"""Run cmd.exe batch files for real, under ``wine cmd`` (Debian's wine), headless.

One throwaway WINEPREFIX is made per test run (the first start takes
10-20 s) and shared by the pytest-xdist workers (``shared.once_per_run``).
Paths are never put on the wine command line, where wine's own
quoting would mangle them: a driver ``.bat`` in a plain folder refers to them
through environment variables. Output is read as UTF-16 (``cmd
/U``) so non-ASCII paths come back intact.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.shared import once_per_run


@dataclass(frozen=True)
class Wine:
    prefix: Path

    @property
    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("CONDA", "MAMBA", "PYTHON", "VIRTUAL_ENV"))}
        return {**keep, "WINEPREFIX": str(self.prefix), "WINEDEBUG": "-all",
                "WINEDLLOVERRIDES": "mscoree,mshtml=", "DISPLAY": ""}

    def windows_path(self, path: Path) -> str:
        """Wine maps / to Z:; this is what %~dp0 shows for ``path``."""
        return "Z:" + str(path).replace("/", "\\")

    def run_bat(self, lines: list[str], variables: dict[str, str] | None = None,
                timeout: float = 120) -> str:
        """Run ``lines`` as a batch file; return cmd's output as text.

        ``variables`` are extra environment variables (Unix paths in them are
        not converted: use ``windows_path``); a driver refers to awkward paths
        through them, since cmd.exe cannot even start a batch file whose own
        path contains ``&``.
        """
        drivers = self.prefix / "drivers"
        drivers.mkdir(exist_ok=True)
        fd, name = tempfile.mkstemp(suffix=".bat", dir=drivers)
        os.close(fd)
        driver = Path(name)
        driver.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))
        proc = subprocess.run(["wine", "cmd", "/U", "/C", self.windows_path(driver)],
                              env={**self.env, **(variables or {})}, capture_output=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)
        return proc.stdout.decode("utf-16-le", errors="replace").replace("\r\n", "\n")


def parse_vars(output: str) -> dict[str, str]:
    """``NAME=value`` lines (from ``set``/``echo``) into a dict; later lines win."""
    out: dict[str, str] = {}
    for line in output.splitlines():
        name, sep, value = line.partition("=")
        if sep and name and " " not in name:
            out[name] = value
    return out


@pytest.fixture(scope="session")
def wine(tmp_path_factory: pytest.TempPathFactory) -> Wine:
    """A ready wine prefix, or skip when wine is not installed (``.ci/run`` installs it)."""
    if shutil.which("wine") is None:
        pytest.skip("wine is not installed (apt-get install wine)")

    def boot(prefix: Path) -> None:
        subprocess.run(["wine", "cmd", "/C", "echo ready"], env=Wine(prefix).env,
                       capture_output=True, timeout=300, check=False, stdin=subprocess.DEVNULL)

    return Wine(once_per_run(tmp_path_factory, "wineprefix", boot))
