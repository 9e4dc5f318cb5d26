from __future__ import annotations

from pathlib import Path

import pytest

from mambaboot.errors import NotAnEnvironmentError
from mambaboot.prefix import Prefix, Status, require_env


def make_env(path: Path, *, creating: bool = False) -> Prefix:
    prefix = Prefix(path)
    prefix.write_manifest({"name": path.name})
    if creating:
        prefix.creating_marker.write_text("pid 1\n")
    return prefix


def test_status_is_decided_by_manifest_and_marker(tmp_path: Path) -> None:
    assert Prefix(tmp_path / "none").status is None
    (tmp_path / "conda_only" / "conda-meta").mkdir(parents=True)
    assert Prefix(tmp_path / "conda_only").status is Status.FOREIGN
    assert make_env(tmp_path / "ok").status is Status.OK
    assert make_env(tmp_path / "half", creating=True).status is Status.INCOMPLETE
    (tmp_path / "link").symlink_to(tmp_path / "ok")
    assert Prefix(tmp_path / "link").status is Status.FOREIGN


def test_marker_parked_by_the_micromamba_engine_still_means_incomplete(tmp_path: Path) -> None:
    """micromamba needs the prefix without our folder; a kill then must not orphan it."""
    (tmp_path / "mm" / "conda-meta").mkdir(parents=True)
    parked = Prefix(tmp_path / "mm").parked_meta
    parked.mkdir()
    (parked / "creating").write_text("pid 1\n")
    assert Prefix(tmp_path / "mm").status is Status.INCOMPLETE


def test_require_env_explains_each_refusal(tmp_path: Path) -> None:
    (tmp_path / "conda_only" / "conda-meta").mkdir(parents=True)
    make_env(tmp_path / "half", creating=True)
    with pytest.raises(NotAnEnvironmentError, match="not a mambaboot environment"):
        require_env(tmp_path / "conda_only")
    with pytest.raises(NotAnEnvironmentError, match="failed or unfinished create"):
        require_env(tmp_path / "half")
    with pytest.raises(NotAnEnvironmentError, match="mambaboot list"):
        require_env(tmp_path / "missing")
    assert require_env(tmp_path / "half", allow_incomplete=True).path == tmp_path / "half"
