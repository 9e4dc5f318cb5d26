"""install.bat under ``wine cmd``, for real, up to what wine can do.

Wine's ``certutil -hashfile`` prints no digest and wine has no ``curl.exe``, so
an install cannot complete under wine: that makes it a real test of the
script failing closed (a binary whose sha256 cannot be shown equal is
refused, and nothing is left). The refusals before it (an active
environment, an existing target) run as on Windows; wine's registry keeps no
AutoRun hook and the home folder gets nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mambaboot.installer import TEMPLATES, _render
from tests.support.wine import Wine, parse_vars

FAKE_EXE = b"MZ\x90\x00 a stand-in that must never run"


def installer_folder(base: Path) -> Path:
    """An --offline-shaped export for win-64, its micromamba a stand-in file."""
    folder = base / "share"
    (folder / "micromamba").mkdir(parents=True)
    (folder / "micromamba" / "micromamba.exe").write_bytes(FAKE_EXE)
    (folder / "mambaboot").mkdir()
    (folder / "mambaboot" / "env.json").write_text("{}")
    (folder / "env.txt").write_text("@EXPLICIT\n")
    (folder / "lock.yml").write_text("version: 6\n")
    fields = {"NAME": "demo", "DIRNAME": "demo_3_12", "PLATFORM": "win-64", "COUNT": "1",
              "MAMBABOOT_VERSION": "test", "DATE": "today", "MM_VERSION": "2.3.3-0",
              "MM_SHA256": hashlib.sha256(FAKE_EXE).hexdigest(),
              "MM_URL": "http://127.0.0.1:9/none", "MM_FILE": "micromamba/micromamba.exe",
              "OFFLINE": "1", "OFFLINE_NOTE": "offline"}
    text = _render((TEMPLATES / "install.bat").read_text(), fields)
    (folder / "install.bat").write_bytes(text.replace("\n", "\r\n").encode())
    return folder


def run_install(wine: Wine, folder: Path, target: Path, **extra: str) -> dict[str, str]:
    # cmd /c, not call: wine 8's call reports any non-zero exit /b as 1 (test paths have
    # no spaces, so they need no quotes here)
    out = wine.run_bat(["@echo off", "cmd /U /c %SCRIPT% %TARGET% 2>&1", "echo rc=%errorlevel%",
                        'reg query "HKCU\\Software\\Microsoft\\Command Processor" /v AutoRun'
                        " >nul 2>&1",
                        "echo autorun=%errorlevel%"],
                       {"SCRIPT": wine.windows_path(folder / "install.bat"),
                        "TARGET": wine.windows_path(target), **extra})
    return {**parse_vars(out), "output": out}


def test_install_bat_refuses_what_it_cannot_verify_and_leaves_nothing(wine: Wine,
                                                                      tmp_path: Path) -> None:
    folder = installer_folder(tmp_path)
    target = tmp_path / "machine" / "demo_3_12"
    (tmp_path / "machine").mkdir()
    got = run_install(wine, folder, target)
    assert got["rc"] == "1", got["output"]
    assert "refused" in got["output"]
    assert got["autorun"] == "1"  # no AutoRun value was written
    assert not target.exists()
    cache = tmp_path / "machine" / ".mambaboot-installer-cache"
    assert [p for p in cache.rglob("*") if p.is_file()] == []  # the unverified copy is gone


def test_install_bat_refuses_an_active_environment_and_an_existing_target(
        wine: Wine, tmp_path: Path) -> None:
    folder = installer_folder(tmp_path)
    target = tmp_path / "machine" / "demo_3_12"
    active = run_install(wine, folder, target, CONDA_PREFIX="C:\\somewhere")
    assert active["rc"] == "2" and "active" in active["output"]
    assert not (tmp_path / "machine").exists()
    target.mkdir(parents=True)
    (target / "mine.txt").write_text("keep")
    existing = run_install(wine, folder, target)
    assert existing["rc"] == "2" and "already exists" in existing["output"]
    assert (target / "mine.txt").read_text() == "keep"
