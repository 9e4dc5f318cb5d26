"""Errors raised in the engine's child process arrive in the parent as the same class."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mambaboot.engines import get_engine
from mambaboot.errors import UnsafePackageError
from mambaboot.locations import Cache
from mambaboot.spec import CreateRequest
from tests.integration.test_hostile import PKG, channel_with, hostile
from tests.support.sandbox import Sandbox


def test_a_hostile_package_is_an_unsafe_package_error_in_the_parent(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    channel = channel_with(tmp_path / "channel", hostile(sandbox.base)["symlink-escape"])
    request = CreateRequest("env", None, channels=(str(demo_channel), str(channel)),
                            specs_override=(PKG,))
    prefix = tmp_path / "env"
    prefix.mkdir()
    cache = Cache(tmp_path / "cache", tmp_path / "cache" / "pkgs")
    with pytest.raises(UnsafePackageError) as caught:  # not a bare MambabootError
        get_engine("rattler").install(request, prefix, cache)
    sentence = caught.value.message
    assert sentence.startswith(f"Refused the package {PKG}-1.0")

    # the CLI prints that one sentence, as before, and names the class in --json
    proc = sandbox.run("create", "env", "--no-managers", "-c", str(demo_channel),
                       "-c", str(channel), "--with", PKG, "--json")
    assert proc.returncode == 1
    error = json.loads(proc.stdout)["error"]
    assert (error["type"], error["message"]) == ("UnsafePackageError", sentence)
    assert proc.stderr.splitlines() == [f"mambaboot: {sentence}"]
