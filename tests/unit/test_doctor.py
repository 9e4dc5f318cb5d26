"""doctor's checks in-process: the cache file-system check and the registry via a fake reader."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mambaboot.doctor import AUTORUN_KEY, check_autorun, check_cache_filesystem, read_registry


def test_cache_filesystem_check_with_fake_devices(tmp_path: Path) -> None:
    devices = {tmp_path / "root": 1, tmp_path: 2}
    (tmp_path / "root").mkdir()
    [finding] = check_cache_filesystem(tmp_path / "root", tmp_path / "cache" / "pkgs",
                                       device=devices.__getitem__)
    assert "--cache" in finding.fix
    assert check_cache_filesystem(tmp_path / "root", tmp_path / "root" / ".cache" / "pkgs") == []


def test_autorun_values_through_a_fake_registry_reader() -> None:
    values = {("HKCU", AUTORUN_KEY, "AutoRun"): r'"C:\miniconda3\condabin\conda_hook.bat"',
              ("HKLM", AUTORUN_KEY, "AutoRun"): "doskey /macrofile=C:\\macros.txt"}
    seen: list[tuple[str, str, str]] = []

    def reader(hive: str, key: str, value: str) -> str | None:
        seen.append((hive, key, value))
        return values.get((hive, key, value))

    hkcu, hklm = check_autorun(reader)
    assert seen == [("HKCU", AUTORUN_KEY, "AutoRun"), ("HKLM", AUTORUN_KEY, "AutoRun")]
    assert hkcu.where == f"HKCU\\{AUTORUN_KEY}\\AutoRun" and "conda/mamba hook" in hkcu.problem
    assert "conda init --reverse cmd.exe" in hkcu.fix
    assert hklm.where.startswith("HKLM") and "runs a command" in hklm.problem
    assert check_autorun(lambda *_: None) == []


@pytest.mark.skipif(os.name == "nt", reason="off Windows there is no registry to read")
def test_registry_reader_is_a_no_op_off_windows() -> None:
    assert read_registry("HKCU", AUTORUN_KEY, "AutoRun") is None
