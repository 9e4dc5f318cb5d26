"""--template folders and the relocatable condabin batch files of mamba/conda."""

from __future__ import annotations

from pathlib import Path

from mambaboot.activation import seed_files
from tests.support.wine import Wine

WIN_PREFIX = "C:\\Users\\me\\envs\\my_env_3_12"
# Shaped like the files mamba 2.x / micromamba write on Windows (prefix baked in).
MAMBA_BAT = (
    "@REM Copyright (C) 2012 Anaconda, Inc\r\n"
    '@IF [%1]==[activate]   "%~dp0_mamba_activate" %*\r\n'
    "@SETLOCAL EnableDelayedExpansion\r\n"
    f'@SET "MAMBA_EXE={WIN_PREFIX}\\Library\\bin\\mamba.exe"\r\n'
    '@CALL "%MAMBA_EXE%" %*\r\n'
)
MAMBA_HOOK_BAT = (
    '@IF "%CONDA_SHLVL%" == "" (\r\n  @SET "CONDA_SHLVL=0"\r\n)\r\n'
    f'@SET "MAMBA_EXE={WIN_PREFIX}\\Library\\bin\\mamba.exe"\r\n'
    f'@SET "MAMBA_ROOT_PREFIX={WIN_PREFIX}"\r\n'
    '@SET "PATH=%~dp0;%PATH%"\r\n'
    '@DOSKEY mamba="%~dp0mamba.bat" $*\r\n'
)
CONDA_BAT = (
    '@SET "CONDA_EXE=c:\\users\\ME\\envs\\my_env_3_12\\Scripts\\conda.exe"\r\n'
    '@SET "_CE_M="\r\n@CALL "%CONDA_EXE%" %*\r\n'
)


def make_condabin(prefix: Path) -> None:
    (prefix / "condabin").mkdir(parents=True, exist_ok=True)
    for name, text in (("mamba.bat", MAMBA_BAT), ("mamba_hook.bat", MAMBA_HOOK_BAT),
                       ("conda.bat", CONDA_BAT), ("other.bat", f"@REM {WIN_PREFIX}\r\n")):
        (prefix / "condabin" / name).write_bytes(text.encode())


def test_condabin_files_are_rewritten_relative_with_a_backup(tmp_path: Path) -> None:
    make_condabin(tmp_path)
    changed = seed_files.relocate_condabin(tmp_path, WIN_PREFIX)
    assert sorted(p.name for p in changed) == ["conda.bat", "mamba.bat", "mamba_hook.bat"]
    hook = (tmp_path / "condabin" / "mamba_hook.bat").read_bytes()
    assert b'@SET "MAMBA_ROOT_PREFIX=%~dp0.."\r\n' in hook
    assert b'@SET "MAMBA_EXE=%~dp0..\\Library\\bin\\mamba.exe"\r\n' in hook
    conda = (tmp_path / "condabin" / "conda.bat").read_bytes()  # any case matches
    assert b'@SET "CONDA_EXE=%~dp0..\\Scripts\\conda.exe"\r\n' in conda
    for name, original in (("mamba.bat", MAMBA_BAT), ("mamba_hook.bat", MAMBA_HOOK_BAT)):
        data = (tmp_path / "condabin" / name).read_bytes()
        assert b"Users" not in data and data.count(b"\r\n") == original.count("\r\n")
        assert (tmp_path / "condabin" / f"{name}.bak").read_bytes() == original.encode()
    # only the three named files are touched; running again changes nothing
    assert WIN_PREFIX.encode() in (tmp_path / "condabin" / "other.bat").read_bytes()
    assert seed_files.relocate_condabin(tmp_path, WIN_PREFIX) == []


def test_longer_sibling_prefix_is_not_rewritten(tmp_path: Path) -> None:
    (tmp_path / "condabin").mkdir()
    text = f'@SET "X={WIN_PREFIX}_old\\python.exe"\r\n'.encode()
    (tmp_path / "condabin" / "conda.bat").write_bytes(text)
    assert seed_files.relocate_condabin(tmp_path, WIN_PREFIX) == []


def test_rewritten_mamba_hook_finds_the_moved_prefix_under_wine(wine: Wine,
                                                                tmp_path: Path) -> None:
    env = tmp_path / "moved & renamed èрт" / "my_env_3_12"
    make_condabin(env)
    seed_files.relocate_condabin(env, WIN_PREFIX)
    out = wine.run_bat(['@CALL "%MB_TARGET%\\condabin\\mamba_hook.bat"',
                        '@IF EXIST "%MAMBA_ROOT_PREFIX%\\condabin\\mamba_hook.bat" ECHO found=1',
                        "@SET MAMBA_ROOT_PREFIX"],
                       {"MB_TARGET": wine.windows_path(env)})
    assert "found=1" in out
    assert f"MAMBA_ROOT_PREFIX={wine.windows_path(env)}\\condabin\\..\n" in out


def test_templates_are_copied_without_overwriting_installed_files(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    (prefix / "__home__").mkdir(parents=True)
    (prefix / "__home__" / "installed.txt").write_text("from the engine")
    template = tmp_path / "templates" / "__home__"
    (template / "nested").mkdir(parents=True)
    (template / "installed.txt").write_text("from the template")
    (template / "nested" / "new.txt").write_text("new")
    other = tmp_path / "templates" / "__shortcut__"
    other.mkdir()
    (other / "env.lnk").write_bytes(b"\x4c\x00")
    skipped = seed_files.copy_templates(prefix, [template, other])
    assert skipped == [prefix / "__home__" / "installed.txt"]
    assert (prefix / "__home__" / "installed.txt").read_text() == "from the engine"
    assert (prefix / "__home__" / "nested" / "new.txt").read_text() == "new"
    assert (prefix / "__shortcut__" / "env.lnk").read_bytes() == b"\x4c\x00"
