"""Progress without a terminal, in-process: one line per phase, and removes that count right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mambaboot.cli.progress import ProgressView
from mambaboot.prefix import Prefix
from mambaboot.remove import remove_env


def test_verbose_prints_one_line_per_phase_however_many_events(
        capsys: pytest.CaptureFixture[str]) -> None:
    """check and download interleave (vet fetches half-way through): still one line each."""
    with ProgressView(enabled=True, verbose=True) as view:
        view("solve-start", {"specs": ["python"]})
        view("solved", {"count": 3})
        view("check-start", {"total": 3})
        view("checked", {"name": "a"})
        view("fetch-start", {"count": 2})
        for _ in range(5):
            view("fetch-bytes", {"n": 1000})
        view("fetched", {"name": "b"})
        view("fetched", {"name": "c"})
        view("checked", {"name": "b"})
        view("checked", {"name": "c"})
        view("install-start", {"total": 3})
        for name in "abc":
            view("cached", {})
            view("linked", {"name": name})
        view("install-done", {})
        view("lockfile", {})
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "mambaboot: solving python", "mambaboot: checking 3 packages",
        "mambaboot: downloading 2 packages", "mambaboot: linking 3 packages",
        "mambaboot: writing the lockfile"]


@pytest.mark.parametrize("kwargs", [{"enabled": False, "verbose": True}, {"enabled": True}])
def test_quiet_json_or_not_verbose_print_nothing(capsys: pytest.CaptureFixture[str],
                                                 kwargs: dict[str, bool]) -> None:
    with ProgressView(**kwargs) as view:
        assert not view.active
        view("solve-start", {"specs": ["python"]})
        view("remove-start", {"total": 3})
    assert capsys.readouterr().err == ""


def test_a_remove_reports_every_file_it_deletes(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CONDA_PREFIX", "MAMBABOOT_ENV"):
        monkeypatch.delenv(var, raising=False)
    prefix = Prefix(tmp_path / "env")
    prefix.write_manifest({"name": "env"})
    for folder in range(7):
        (prefix.path / "lib" / str(folder)).mkdir(parents=True)
        for i in range(100):
            (prefix.path / "lib" / str(folder) / f"f{i}").write_text("x")
    (prefix.path / "link").symlink_to("lib")
    events: list[tuple[str, dict[str, Any]]] = []
    remove_env(prefix.path, progress=lambda event, data: events.append((event, data)))
    assert not prefix.path.exists()
    names = [event for event, _ in events]
    assert names[:2] == ["remove-count", "remove-start"]
    total = events[1][1]["total"]
    assert total == 700 + 2  # the files, the link, env.json; folders are not counted
    assert set(names[2:]) == {"deleted"}
    assert sum(data["count"] for _, data in events[2:]) == total
