from __future__ import annotations

from pathlib import Path

from mambaboot.fsutil import is_link, move_aside, remove_tree, tree_size


def test_remove_tree_never_follows_links(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sentinel").write_text("keep me")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "f").write_text("x")
    (tree / "dirlink").symlink_to(outside, target_is_directory=True)
    (tree / "sub" / "filelink").symlink_to(outside / "sentinel")
    assert remove_tree(tree) == []
    assert not tree.exists()
    assert (outside / "sentinel").read_text() == "keep me"


def test_remove_tree_on_a_link_removes_only_the_link(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "f").write_text("x")
    (tmp_path / "link").symlink_to(target)
    assert is_link(tmp_path / "link")
    remove_tree(tmp_path / "link")
    assert (target / "f").exists()


def test_move_aside_renames_into_trash(tmp_path: Path) -> None:
    f = tmp_path / "locked.dll"
    f.write_text("x")
    assert move_aside(f, tmp_path / "trash")
    assert not f.exists()
    assert [p.name.endswith("-locked.dll") for p in (tmp_path / "trash").iterdir()] == [True]


def test_tree_size_counts_hard_links_once(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 100)
    (tmp_path / "b").hardlink_to(tmp_path / "a")
    (tmp_path / "c").symlink_to(tmp_path / "a")
    assert tree_size(tmp_path) == (100, 2)
