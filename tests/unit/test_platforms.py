"""Printed commands quote paths for the user's shell."""

from __future__ import annotations

import shlex

import pytest

from mambaboot.platforms import current_subdir, for_shell


@pytest.mark.parametrize("path", ["/plain/path", "/envs with space/x", "/a;b/$(x)/`y`", "/q'uote",
                                  ""])
def test_posix_quoting_round_trips(path: str) -> None:
    assert shlex.split(f"cmd {for_shell(path, windows=False)}") == ["cmd", path]


@pytest.mark.parametrize(("path", "expected"), [
    (r"C:\envs\x", r"C:\envs\x"),
    (r"C:\Users\Jo Co\envs", r'"C:\Users\Jo Co\envs"'),
    (r"D:\a&b", r'"D:\a&b"'),
    ("", '""'),
])
def test_cmd_quoting(path: str, expected: str) -> None:
    assert for_shell(path, windows=True) == expected


@pytest.mark.parametrize(("system", "machine", "subdir"), [
    ("linux", "x86_64", "linux-64"), ("linux", "aarch64", "linux-aarch64"),
    ("linux", "arm64", "linux-aarch64"), ("darwin", "arm64", "osx-arm64"),
    ("darwin", "x86_64", "osx-64"), ("win32", "AMD64", "win-64"),
])
def test_conda_subdir_of_a_machine(system: str, machine: str, subdir: str) -> None:
    assert current_subdir(system, machine) == subdir
