"""activate.bat / deactivate.bat, executed for real by cmd.exe under wine."""

from __future__ import annotations

from pathlib import Path

from mambaboot.prefix import bin_dirs
from tests.support.wine import Wine, parse_vars

MARK = "@ECHO ====="


def run_cycle(wine: Wine, prefix: Path) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Variables before, after activate.bat, after deactivate.bat (via a driver next to it)."""
    out = wine.run_bat([
        "@SET", MARK,
        '@CALL "%MB_TARGET%\\activate.bat"', "@ECHO rc=%ERRORLEVEL%", "@SET", MARK,
        '@CALL "%MB_TARGET%\\deactivate.bat"', "@SET",
    ], {"MB_TARGET": wine.windows_path(prefix)})
    before, active, after = (parse_vars(part) for part in out.split("=====\n"))
    return before, active, after


def windows_entries(wine: Wine, prefix: Path) -> list[str]:
    root = wine.windows_path(prefix)
    return [root + ("\\" + rel.replace("/", "\\") if rel else "") for rel in bin_dirs(True)]


def test_activate_bat_sets_windows_path_order_and_activate_d_then_deactivate_restores(
        wine: Wine, prefix: Path) -> None:
    before, active, after = run_cycle(wine, prefix)
    assert active["rc"] == "0"
    root = wine.windows_path(prefix)
    entries = windows_entries(wine, prefix)
    assert active["PATH"].split(";")[:len(entries)] == entries
    assert active["CONDA_PREFIX"] == root == active["MAMBABOOT_ENV"]
    assert (active["CONDA_DEFAULT_ENV"], active["CONDA_SHLVL"]) == ("demo", "1")
    assert active["DEMO_ACTIVATED"] == "1"
    assert active["DEMO_HOME"] == root + "\\share\\demo"
    assert active["PROMPT"] == "(demo) " + before.get("PROMPT", "$P$G")
    assert after["PATH"] == before["PATH"]
    assert after.get("PROMPT", "$P$G") == before.get("PROMPT", "$P$G")
    for var in ("CONDA_PREFIX", "MAMBABOOT_ENV", "DEMO_ACTIVATED", "_MAMBABOOT_OLD_PATH",
                "_MB_PREFIX"):
        assert var not in after


def test_activate_bat_after_the_root_is_moved(wine: Wine, prefix: Path, tmp_path: Path) -> None:
    moved_root = tmp_path / "moved èрт & (co)"
    prefix.parent.rename(moved_root)
    moved = moved_root / prefix.name
    _, active, _ = run_cycle(wine, moved)
    assert active["CONDA_PREFIX"] == wine.windows_path(moved)
    assert active["PATH"].split(";")[0] == wine.windows_path(moved)


def test_activate_bat_refuses_inside_an_active_environment(wine: Wine, prefix: Path) -> None:
    out = wine.run_bat([
        '@SET "MAMBABOOT_ENV=C:\\other"',
        '@CALL "%MB_TARGET%\\activate.bat"', "@ECHO rc=%ERRORLEVEL%",
        "@IF DEFINED CONDA_SHLVL ECHO leaked=1"], {"MB_TARGET": wine.windows_path(prefix)})
    assert "rc=1" in out and "leaked" not in out
