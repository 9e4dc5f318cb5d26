"""Printed commands quote paths for the user's shell."""

from __future__ import annotations

import shlex

import pytest

from mambaboot.activation.quoting import for_shell


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
