"""The package cache changed between the check before linking and the linking itself.

A warm create compares ``info/`` of each cached tree before linking and the whole
tree again once the engine reports that package linked (``vet.Watch``, issue 15).
These tests change the cache at exactly the moment between the two (the create is
paused at the ``install`` stage, after the pre-link check): the attacks an
attack session used against the first version of that design.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.integration.test_faults import start_create, wait_for
from tests.support.sandbox import Sandbox

if sys.platform == "win32":
    pytest.skip("symlinks and the pause hook's process groups are POSIX here",
                allow_module_level=True)


def _paused_create(sandbox: Sandbox, demo_channel: Path, tmp_path: Path, name: str,
                   change) -> tuple[int, str]:
    """Create ``name`` on a warm cache, running ``change(libdemo's cached tree)`` while
    the create waits between the pre-link check and linking."""
    cache = tmp_path / "cache"
    sandbox.run("create", "warm", "--no-managers", "--with", "demo-tool", "-c",
                str(demo_channel), "--cache", str(cache), check=True)
    [tree] = (cache / "pkgs").glob("libdemo-2.0-*/")
    pause = tmp_path / "paused"
    proc = start_create(sandbox, name, demo_channel, "install", pause, "--cache", str(cache))
    wait_for(pause, proc)
    change(tree)
    pause.unlink()
    _out, err = proc.communicate(timeout=300)
    return proc.returncode, err


def test_a_file_swapped_for_an_outside_symlink_while_linking_is_never_left_linked(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    """The comparison runs after the engine linked each package: a swap before that is
    seen, the environment linked again from a fresh tree (attack: it stayed linked)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("OUTSIDE-SECRET\n")

    def swap(tree: Path) -> None:
        listed = tree / "share" / "libdemo" / "version.txt"
        listed.unlink()
        listed.symlink_to(secret)

    code, err = _paused_create(sandbox, demo_channel, tmp_path, "second", swap)
    assert code == 0, err
    assert "1 cached package changed since it was checked (libdemo" in err
    installed = sandbox.root / "second" / "share" / "libdemo" / "version.txt"
    assert not installed.is_symlink() and "OUTSIDE" not in installed.read_text()
    assert sandbox.run("verify", "second").returncode == 0


def test_metadata_changed_while_linking_fails_the_create_and_is_unpacked_afresh(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    """info/ decides where the engine writes: a change found after linking is no edit
    through an environment, so the create fails loudly (attack: paths.json rewritten
    after the check made the engine place a file outside the prefix, silently)."""
    def rewrite(tree: Path) -> None:
        paths = tree / "info" / "paths.json"
        data = json.loads(paths.read_text())
        data["paths"].append({"_path": "share/libdemo/planted.txt", "path_type": "hardlink"})
        (tree / "share" / "libdemo" / "planted.txt").write_text("planted\n")
        paths.write_text(json.dumps(data))

    code, err = _paused_create(sandbox, demo_channel, tmp_path, "second", rewrite)
    assert code == 1 and "cached metadata (info/) of libdemo changed while the engine" in err
    assert not (sandbox.root / "second").exists()
    third = sandbox.run("create", "third", "--no-managers", "--with", "demo-tool", "-c",
                        str(demo_channel), "--cache", str(tmp_path / "cache"), check=True)
    assert "changed" not in third.stderr  # marked damaged: unpacked afresh before linking
    assert not (sandbox.root / "third" / "share" / "libdemo" / "planted.txt").exists()
    assert sandbox.run("verify", "third").returncode == 0


def test_an_edited_post_link_script_never_runs(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    """Link scripts run while the engine links, so with --allow-link-scripts the whole
    tree is compared before (attack: a script edited through an environment's hard link
    ran in the next environment before the comparison acted)."""
    cache = tmp_path / "cache"
    args = ("--no-managers", "--with", "demo-postlink", "--allow-link-scripts", "-c",
            str(demo_channel), "--cache", str(cache))
    sandbox.run("create", "first", *args, check=True)
    [script] = (sandbox.root / "first" / "bin").glob(".demo-postlink-post-link.sh")
    marker = tmp_path / "EDITED-SCRIPT-RAN"
    with script.open("a") as fh:  # in place: the same inode as the cache's copy
        fh.write(f'echo "ran in $PREFIX" >> "{marker}"\n')
    sandbox.run("create", "second", *args, check=True)
    assert not marker.exists()
    assert "EDITED" not in (sandbox.root / "second" / "bin" / script.name).read_text()
