"""install.bat under ``wine cmd``, for real.

With wine as it is, ``certutil -hashfile`` prints no digest: the script must
fail closed (a binary whose sha256 cannot be shown equal is refused, nothing
is left). With two small Windows programs the suite builds with mingw-w64 (a
``certutil.exe`` that computes a real SHA-256, and a ``micromamba.exe``
stand-in that records its call and makes the prefix), the whole script runs:
default target next to the script, the embedded binary checked, one create
with no rc files and the cache's folders, mambaboot's files written, the
partial target removed when the create fails, a tampered binary refused; the
registry gets no AutoRun value and the wine user's profile is unchanged.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from mambaboot.installer import TEMPLATES, _render
from tests.support.wine import Wine, parse_vars

STANDINS = Path(__file__).parents[1] / "support" / "windows_standins"

FAKE_EXE = b"MZ\x90\x00 a stand-in that must never run"


@pytest.fixture(scope="module")
def windows_programs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """certutil.exe and micromamba.exe built from tests/support/windows_standins/*.c."""
    if shutil.which("x86_64-w64-mingw32-gcc") is None:
        pytest.skip("mingw-w64 is not installed (apt-get install gcc-mingw-w64-x86-64)")
    out = tmp_path_factory.mktemp("windows-programs")
    for name in ("certutil", "micromamba"):
        subprocess.run(["x86_64-w64-mingw32-gcc", "-O2", "-o", str(out / f"{name}.exe"),
                        str(STANDINS / f"{name}.c")], check=True, capture_output=True)
    return out


def installer_folder(base: Path, micromamba: bytes = FAKE_EXE) -> Path:
    """An --offline-shaped export for win-64 with the given micromamba.exe."""
    folder = base / "share"
    (folder / "micromamba").mkdir(parents=True)
    (folder / "micromamba" / "micromamba.exe").write_bytes(micromamba)
    (folder / "mambaboot").mkdir()
    (folder / "mambaboot" / "env.json").write_text('{"name": "demo"}')
    (folder / "mambaboot" / "activate.bat").write_text("@echo off\r\n")
    (folder / "pkgs").mkdir()
    (folder / "pkgs" / "demo-1.0-0.conda").write_bytes(b"archive")
    (folder / "env.txt").write_text("@EXPLICIT\nhttps://x/win-64/demo-1.0-0.conda#" + "0" * 64
                                    + "\n")
    (folder / "lock.yml").write_text("version: 6\n")
    fields = {"NAME": "demo", "DIRNAME": "demo_3_12", "PLATFORM": "win-64", "COUNT": "1",
              "MAMBABOOT_VERSION": "test", "DATE": "today", "MM_VERSION": "2.3.3-0",
              "MM_SHA256": hashlib.sha256(micromamba).hexdigest(),
              "MM_URL": "http://127.0.0.1:9/none", "MM_FILE": "micromamba/micromamba.exe",
              "OFFLINE": "1", "OFFLINE_NOTE": "offline"}
    text = _render((TEMPLATES / "install.bat").read_text(), fields)
    (folder / "install.bat").write_bytes(text.replace("\n", "\r\n").encode())
    return folder


def run_install(wine: Wine, folder: Path, target: Path | None, *,
                programs: Path | None = None, **extra: str) -> dict[str, str]:
    """Run install.bat (TARGET, or none: the default); ``programs`` go first on PATH."""
    path = [f'set "PATH={wine.windows_path(programs)};%PATH%"'] if programs else []
    # cmd /c, not call: wine 8's call reports any non-zero exit /b as 1 (test paths have
    # no spaces, so they need no quotes here)
    out = wine.run_bat(["@echo off", *path,
                        "cmd /U /c %SCRIPT% %TARGET% 2>&1", "echo rc=%errorlevel%",
                        'reg query "HKCU\\Software\\Microsoft\\Command Processor" /v AutoRun'
                        " >nul 2>&1",
                        "echo autorun=%errorlevel%"],
                       {"SCRIPT": wine.windows_path(folder / "install.bat"),
                        "TARGET": wine.windows_path(target) if target else "", **extra})
    return {**parse_vars(out), "output": out}


def profile(wine: Wine) -> set[str]:
    """The wine user's profile, minus Temp (wine's own cmd.exe keeps pipe files there)."""
    users = wine.prefix / "drive_c" / "users"
    return {str(p.relative_to(users)) for p in users.rglob("*")
            if "Temp" not in p.relative_to(users).parts}


def test_install_bat_runs_end_to_end_with_windows_programs(wine: Wine, windows_programs: Path,
                                                           tmp_path: Path) -> None:
    standin = (windows_programs / "micromamba.exe").read_bytes()
    folder = installer_folder(tmp_path, standin)
    programs = tmp_path / "programs"
    programs.mkdir()
    shutil.copy(windows_programs / "certutil.exe", programs)
    before = profile(wine)
    got = run_install(wine, folder, None, programs=programs)
    assert got["rc"] == "0", got["output"]
    target = folder / "demo_3_12"  # the seed's naming, next to the script
    assert (target / "conda-meta" / "standin-explicit.txt").read_text().startswith("@EXPLICIT")
    assert (target / ".mambaboot" / "env.json").read_text() == '{"name": "demo"}'
    assert (target / ".mambaboot" / "lock.yml").is_file() and (target / "activate.bat").is_file()
    cache = folder / ".mambaboot-installer-cache"
    calls = (cache / "micromamba" / "2.3.3-0" / "calls.txt").read_text().splitlines()
    create = [line for line in calls if line.startswith("create ")]
    assert len(create) == 1 and "--no-rc" in create[0] and create[0].endswith("--offline")
    assert f"--file {wine.windows_path(folder / 'env.txt')}" in create[0]
    variables = dict(line.split("=", 1) for line in calls if "=" in line and " " not in
                     line.split("=", 1)[0])
    assert variables["CONDA_PKGS_DIRS"] == wine.windows_path(cache / "pkgs")
    assert variables["USERPROFILE"] == wine.windows_path(cache / "home")
    assert variables["CONDARC"] == "" and variables["MAMBA_ADD_PIP_AS_PYTHON_DEPENDENCY"] == "false"
    assert (cache / "pkgs" / "demo-1.0-0.conda").read_bytes() == b"archive"
    assert got["autorun"] == "1" and profile(wine) == before


def test_install_bat_removes_the_target_when_the_create_fails(wine: Wine, windows_programs: Path,
                                                              tmp_path: Path) -> None:
    folder = installer_folder(tmp_path, (windows_programs / "micromamba.exe").read_bytes())
    programs = tmp_path / "programs"
    programs.mkdir()
    shutil.copy(windows_programs / "certutil.exe", programs)
    target = tmp_path / "machine" / "demo"
    got = run_install(wine, folder, target, programs=programs, MICROMAMBA_STANDIN_FAIL="1")
    assert got["rc"] == "1" and "nothing was kept" in got["output"], got["output"]
    assert not target.exists()


def test_install_bat_refuses_a_tampered_micromamba(wine: Wine, windows_programs: Path,
                                                   tmp_path: Path) -> None:
    standin = (windows_programs / "micromamba.exe").read_bytes()
    folder = installer_folder(tmp_path, standin)
    (folder / "micromamba" / "micromamba.exe").write_bytes(standin + b"\0tampered")
    programs = tmp_path / "programs"
    programs.mkdir()
    shutil.copy(windows_programs / "certutil.exe", programs)
    target = tmp_path / "machine" / "demo"
    got = run_install(wine, folder, target, programs=programs)
    assert got["rc"] == "1" and "refused" in got["output"], got["output"]
    assert hashlib.sha256(standin).hexdigest() in got["output"]
    assert not target.exists()
    cache = tmp_path / "machine" / ".mambaboot-installer-cache" / "micromamba"
    assert [p for p in cache.rglob("*") if p.is_file()] == []


def test_with_wines_certutil_install_bat_fails_closed(wine: Wine, tmp_path: Path) -> None:
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
