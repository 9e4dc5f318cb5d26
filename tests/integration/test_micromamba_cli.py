"""``mambaboot micromamba fetch|path|verify`` through the real CLI, and the small pure helpers."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mambaboot.devchannel import MICROMAMBA_VERSION, ChannelServer
from mambaboot.engines.micromamba.binary import (
    RELEASE_BASE,
    check_version,
    current_subdir,
    release_url,
)
from mambaboot.errors import UsageError
from tests.support.micromamba_standin import release_tree
from tests.support.sandbox import Sandbox

VERSION = f"{MICROMAMBA_VERSION}-0"
BODY = b"\x7fELF pretend micromamba for the CLI tests\n" * 100


@pytest.fixture
def mirror_env(sandbox: Sandbox, tmp_path: Path,
               channel_server: Callable[[Path], ChannelServer]) -> dict[str, str]:
    release_tree(tmp_path / "mirror", VERSION, current_subdir(), BODY)
    return {**sandbox.env, "MAMBABOOT_MICROMAMBA_URL": channel_server(tmp_path / "mirror").url}


def mm(sandbox: Sandbox, *args: str,
       env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return sandbox.run("micromamba", *args, "--micromamba-version", VERSION, env=env)


def test_fetch_path_verify(sandbox: Sandbox, mirror_env: dict[str, str]) -> None:
    fetched = mm(sandbox, "fetch", env=mirror_env)
    assert fetched.returncode == 0, fetched.stderr
    binary = sandbox.root / ".cache" / "micromamba" / VERSION / current_subdir() / "micromamba"
    assert f"Fetched micromamba {VERSION}" in fetched.stdout and str(binary) in fetched.stdout
    assert binary.read_bytes() == BODY
    doc = json.loads(mm(sandbox, "fetch", "--json", env=mirror_env).stdout)
    again = doc["result"]
    assert doc["ok"] and again["action"] == "fetch" and not again["downloaded"]
    assert again["path"] == str(binary)
    assert mm(sandbox, "path").stdout.strip() == str(binary)
    doc = json.loads(mm(sandbox, "verify", "--json").stdout)
    verified = doc["result"]
    assert doc["ok"] and verified["source"] == "release"
    binary.write_bytes(b"tampered")
    bad = mm(sandbox, "verify")
    assert bad.returncode == 1 and "does not match" in bad.stderr and "Traceback" not in bad.stderr
    sandbox.assert_user_dirs_untouched()


def test_offline_and_path_without_a_cached_binary_name_the_fetch_command(
        sandbox: Sandbox) -> None:
    for args in (("fetch", "--offline"), ("path",), ("verify",)):
        proc = mm(sandbox, *args)
        assert proc.returncode == 1, args
        assert "'mambaboot micromamba fetch --micromamba-version" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


def test_fetch_from_the_channel_for_another_platform(sandbox: Sandbox, demo_channel: Path) -> None:
    proc = mm(sandbox, "fetch", "--source", "channel", "-c", str(demo_channel),
              "--platform", "win-64", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)["result"]
    assert info["path"].endswith("win-64/micromamba.exe") and info["source"] == "channel"


@pytest.mark.parametrize("args", [["--micromamba-version", "../../x"], ["--platform", "win-32"],
                                  ["--source", "github"]])
def test_bad_input_is_exit_2(sandbox: Sandbox, args: list[str]) -> None:
    proc = sandbox.run("micromamba", "fetch", *args)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


@pytest.mark.parametrize(("system", "machine", "subdir"), [
    ("linux", "x86_64", "linux-64"), ("linux", "aarch64", "linux-aarch64"),
    ("linux", "arm64", "linux-aarch64"), ("darwin", "x86_64", "osx-64"),
    ("darwin", "arm64", "osx-arm64"), ("win32", "AMD64", "win-64"),
])
def test_platform_mapping(system: str, machine: str, subdir: str) -> None:
    assert current_subdir(system, machine) == subdir


def test_unsupported_platform_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--engine rattler"):
        current_subdir("linux", "ppc64le")


def test_release_url_and_mirror() -> None:
    assert release_url("2.3.3-0", "win-64", {}) == f"{RELEASE_BASE}/2.3.3-0/micromamba-win-64"
    mirror = {"MAMBABOOT_MICROMAMBA_URL": "https://mirror.example/mm/"}
    assert release_url("2.3.3-0", "linux-64", mirror) == (
        "https://mirror.example/mm/2.3.3-0/micromamba-linux-64")
    template = {"MAMBABOOT_MICROMAMBA_URL": "https://m.example/{subdir}/{version}/bin"}
    assert release_url("2.3.3-0", "osx-arm64", template) == (
        "https://m.example/osx-arm64/2.3.3-0/bin")


@pytest.mark.parametrize("bad", ["", "latest", "../2.3.3", "2.3.3/x", "2 3"])
def test_version_must_look_like_a_release(bad: str) -> None:
    with pytest.raises(UsageError):
        check_version(bad)
