"""The suite's own disk hygiene: scratch folders go, even read-only ones."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.support.scratch import remove_tree


def test_remove_tree_removes_read_only_folders_and_keeps_what_a_symlink_points_to(
        tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("kept")
    tree = tmp_path / "tree"
    locked = tree / "a" / "locked"
    locked.mkdir(parents=True)
    (locked / "file").write_text("x")
    os.symlink(outside, tree / "a" / "link")
    os.chmod(locked, stat.S_IRUSR | stat.S_IXUSR)
    os.chmod(tree / "a", stat.S_IRUSR | stat.S_IXUSR)

    remove_tree(tree)

    assert not tree.exists()
    assert (outside / "keep").read_text() == "kept"
