from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mambaboot.fsutil import (
    _unescape_mount,
    crossing_mounts,
    is_link,
    mount_points,
    move_aside,
    remove_tree,
    tree_size,
)
from tests.support.fstools import scratch_cwd, stuck_rmdir  # noqa: F401 - scratch_cwd is autouse


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


def test_remove_tree_deletes_the_files_kept_for_last_after_everything_else(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mambaboot import fsutil

    tree = tmp_path / "tree"
    for rel in ("a/1", "a/2", "b/c/3", "meta/creating", "meta/other"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(rel)
    order: list[str] = []
    real = fsutil._remove_file

    def recording(path: Path, *args: object, **kw: object) -> None:
        order.append(path.relative_to(tree).as_posix())
        real(path, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(fsutil, "_remove_file", recording)
    assert remove_tree(tree, last=(tree / "meta" / "creating",)) == []
    assert order[-1] == "meta/creating" and len(order) == 5
    assert not tree.exists()


def test_remove_tree_never_enters_a_mount_point(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A same-filesystem bind mount has the same st_dev: the mount table must stop the walk."""
    from mambaboot import fsutil

    tree = tmp_path / "tree"
    (tree / "mnt").mkdir(parents=True)
    (tree / "mnt" / "data").write_text("someone else's")
    (tree / "own").write_text("x")
    monkeypatch.setattr(fsutil, "mount_points", lambda: frozenset({str(tree / "mnt")}))
    assert remove_tree(tree) == [tree / "mnt", tree]
    assert (tree / "mnt" / "data").read_text() == "someone else's"
    assert not (tree / "own").exists()
    assert crossing_mounts(tree, frozenset({str(tree / "mnt")})) == tree / "mnt"
    assert crossing_mounts(tree, frozenset({str(tmp_path / "treeX")})) is None
    assert crossing_mounts(tree, frozenset({str(tree)})) == tree


def test_mount_table_escapes_are_decoded(tmp_path: Path) -> None:
    assert _unescape_mount(r"/a\040b\011c\134d") == "/a b\tc\\d"
    assert all(p.startswith("/") for p in mount_points()) or sys.platform != "linux"
    assert "/" in mount_points() or sys.platform != "linux"


class _OtherDevice:
    """A scandir entry that reports another st_dev for directories named ``dev2``."""

    def __init__(self, entry: os.DirEntry[str]) -> None:
        self._e, self.path, self.name = entry, entry.path, entry.name

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return self._e.is_dir(follow_symlinks=follow_symlinks)

    def is_symlink(self) -> bool:
        return self._e.is_symlink()

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        st = self._e.stat(follow_symlinks=follow_symlinks)
        if self.name != "dev2":
            return st
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev + 1, *tuple(st)[3:]))


@pytest.fixture
def dev2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tree/a/dev2 looks like another filesystem (macOS has no mount table to read)."""
    tree = tmp_path / "tree"
    (tree / "a" / "dev2").mkdir(parents=True)
    (tree / "a" / "dev2" / "data").write_text("keep")
    (tree / "a" / "own").write_text("x")
    real_scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda p: [_OtherDevice(e) for e in real_scandir(p)])
    monkeypatch.setattr("mambaboot.fsutil.mount_points", frozenset)
    return tree


def test_crossing_mounts_finds_another_st_dev(dev2: Path) -> None:
    assert crossing_mounts(dev2, frozenset()) == dev2 / "a" / "dev2"


def test_remove_tree_never_enters_another_device(dev2: Path) -> None:
    assert remove_tree(dev2) == [dev2 / "a" / "dev2", dev2 / "a", dev2]
    assert (dev2 / "a" / "dev2" / "data").read_text() == "keep"
    assert not (dev2 / "a" / "own").exists()


# --- added for the mutation run (docs/security.md) ---

def _stuck(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Files and links with these names cannot be unlinked (held open, as on Windows)."""
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self.name in names:
            raise PermissionError(13, "in use", str(self))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)


def test_remove_tree_moves_files_and_links_in_use_to_the_trash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "tree"
    (tree / "meta").mkdir(parents=True)
    (tree / "held.dll").write_text("x")
    (tree / "held.lnk").symlink_to("held.dll")
    (tree / "meta" / "creating").write_text("x")
    _stuck(monkeypatch, "held.dll", "held.lnk", "creating")
    assert remove_tree(tree, trash=tmp_path / "trash", last=(tree / "meta" / "creating",)) == []
    assert not tree.exists()
    assert sorted(p.name.split("-", 1)[1] for p in (tmp_path / "trash").iterdir()) == [
        "creating", "held.dll", "held.lnk"]


def test_remove_tree_reports_every_file_it_could_not_delete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "tree"
    for rel in ("a/held", "b/held", "meta/creating", "link"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
    for rel in ("a/held", "b/held", "meta/creating"):
        (tree / rel).write_text(rel)
    (tree / "link").unlink(missing_ok=True)
    (tree / "lnk").symlink_to("a")
    _stuck(monkeypatch, "held", "creating", "lnk")
    leftovers = remove_tree(tree, last=(tree / "meta" / "creating",))
    assert set(leftovers) >= {tree / "a" / "held", tree / "b" / "held", tree / "lnk",
                              tree / "meta" / "creating", tree / "meta"}
    assert (tree / "a" / "held").exists() and (tree / "b" / "held").exists()


def test_a_folder_kept_for_last_that_cannot_go_is_a_leftover(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "tree"
    (tree / "meta").mkdir(parents=True)
    (tree / "meta" / "creating").write_text("x")
    stuck_rmdir(monkeypatch, "meta")
    assert remove_tree(tree, last=(tree / "meta" / "creating",)) == [tree / "meta", tree]
    assert not (tree / "meta" / "creating").exists()


class _Broken(_OtherDevice):
    """Also: ``stat`` fails for entries named ``broken``."""

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        if self.name == "broken":
            raise PermissionError(13, "denied", self.path)
        return super().stat(follow_symlinks=follow_symlinks)


_real_scandir = os.scandir


@pytest.fixture
def broken(dev2: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dev2's tree plus ``a/broken`` (stat fails) and ``zz`` (scandir fails), read in order."""
    (dev2 / "a" / "broken").mkdir()
    (dev2 / "a" / "broken" / "data").write_text("keep")
    (dev2 / "a" / "later").mkdir()
    (dev2 / "zz").mkdir()

    def ordered(path: str | os.PathLike[str]) -> list[_Broken]:
        if Path(path).name == "zz":
            raise PermissionError(13, "denied", str(path))
        return [_Broken(e) for e in sorted(_real_scandir(path), key=lambda e: e.name)]

    monkeypatch.setattr(os, "scandir", ordered)
    return dev2


def test_crossing_mounts_goes_on_past_folders_it_cannot_read(broken: Path) -> None:
    assert crossing_mounts(broken, frozenset()) == broken / "a" / "dev2"


def test_remove_tree_never_enters_a_folder_it_cannot_stat(broken: Path) -> None:
    leftovers = remove_tree(broken)
    assert broken / "a" / "broken" in leftovers
    assert (broken / "a" / "broken" / "data").read_text() == "keep"
    assert not (broken / "a" / "later").exists()
