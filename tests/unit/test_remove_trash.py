"""``ROOT/.mambaboot-trash``: what Windows would not let remove delete is cleaned later.

A file held open on Windows can only be renamed, so remove moves it into the
trash beside the environments; the next remove under the same root deletes it.
Here the "held" file is simply a file already in the trash (Linux has no
mandatory locks), which is the state the next remove finds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mambaboot.remove import TRASH_DIR, empty_trash, remove_env
from tests.support.fstools import (
    make_env,
    scratch_cwd,  # noqa: F401 - autouse
)


@pytest.fixture(autouse=True)
def _no_active_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CONDA_PREFIX", "MAMBABOOT_ENV"):
        monkeypatch.delenv(var, raising=False)


def test_next_remove_empties_the_trash(tmp_path: Path) -> None:
    trash = tmp_path / TRASH_DIR
    (trash / "sub").mkdir(parents=True)
    (trash / "0123-python311.dll").write_bytes(b"held last time")
    (trash / "sub" / "x").write_text("x")
    make_env(tmp_path / "one", with_bin=True)

    remove_env(tmp_path / "one")

    assert not (tmp_path / "one").exists()
    assert not trash.exists()


def test_dry_run_leaves_the_trash(tmp_path: Path) -> None:
    trash = tmp_path / TRASH_DIR
    trash.mkdir()
    (trash / "f").write_text("x")
    make_env(tmp_path / "one")

    remove_env(tmp_path / "one", dry_run=True)

    assert (trash / "f").exists()


def test_a_link_in_the_trash_place_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("precious")
    root = tmp_path / "root"
    root.mkdir()
    (root / TRASH_DIR).symlink_to(outside, target_is_directory=True)

    empty_trash(root)

    assert (outside / "keep").read_text() == "precious"
    assert (root / TRASH_DIR).is_symlink()
