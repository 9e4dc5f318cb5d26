"""@EXPLICIT files: read back what we export, every digest spelling, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from mambaboot.errors import LockFormatError
from mambaboot.packages import explicit

SHA = "ab" * 32
URL = "https://conda.example/ch/linux-64/zlib-1.3-h0_0.conda"


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "env.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_our_export_header_is_read_back_as_explicit(tmp_path: Path) -> None:
    path = write(tmp_path, *explicit.explicit_header("linux-64"), f"{URL}#{SHA}")
    assert explicit.is_explicit(path)
    (want,) = explicit.read_explicit(path)
    assert (want.name, want.file_name, want.url, want.sha256) == (
        "zlib", "zlib-1.3-h0_0.conda", URL, SHA)
    assert want.dist == "zlib-1.3-h0_0"


@pytest.mark.parametrize("suffix", [f"#sha256:{SHA}", f"#sha256={SHA}", f"#{SHA.upper()}"])
def test_digest_spellings_conda_writes_are_accepted(tmp_path: Path, suffix: str) -> None:
    (want,) = explicit.read_explicit(write(tmp_path, "@EXPLICIT", URL + suffix))
    assert want.sha256 == SHA


@pytest.mark.parametrize(("line", "says"), [
    (f"{URL}#{'0' * 32}", "no sha256"),                 # an md5 only
    (URL, "no sha256"),                                 # no hash at all
    (f"https://conda.example/ch/README#{SHA}", "not a package URL"),
])
def test_bad_lines_are_refused_naming_the_fix(tmp_path: Path, line: str, says: str) -> None:
    with pytest.raises(LockFormatError, match=says):
        explicit.read_explicit(write(tmp_path, "@EXPLICIT", line))


def test_an_empty_explicit_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LockFormatError, match="lists no packages"):
        explicit.read_explicit(write(tmp_path, "# platform: linux-64", "@EXPLICIT"))


def test_a_yaml_lock_is_not_explicit_and_a_missing_file_is_named(tmp_path: Path) -> None:
    assert not explicit.is_explicit(write(tmp_path, "version: 6", "environments: {}"))
    with pytest.raises(LockFormatError, match="Cannot read the lockfile"):
        explicit.is_explicit(tmp_path / "nope.yml")


def test_channel_of_a_package_url() -> None:
    assert explicit.channel_of_url(URL) == "https://conda.example/ch"
