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


def test_a_file_for_another_platform_is_named_by_its_header(tmp_path: Path) -> None:
    path = write(tmp_path, *explicit.explicit_header("win-64"), f"{URL}#{SHA}")
    with pytest.raises(LockFormatError, match=r"is for win-64 \(its '# platform:' line\), not "
                                              r"this machine's linux-64"):
        explicit.read_explicit(path, subdir="linux-64")


def test_a_package_of_another_platform_is_named_by_its_url(tmp_path: Path) -> None:
    mac = URL.replace("linux-64", "osx-arm64")
    path = write(tmp_path, "@EXPLICIT", f"{mac}#{SHA}")
    with pytest.raises(LockFormatError, match=r"zlib-1\.3-h0_0\.conda is a osx-arm64 package"):
        explicit.read_explicit(path, subdir="linux-64")


def test_noarch_and_folderless_urls_are_any_platform(tmp_path: Path) -> None:
    noarch = URL.replace("linux-64", "noarch")
    path = write(tmp_path, "# platform: linux-64", "@EXPLICIT", f"{noarch}#{SHA}",
                 f"file:///pkgs/tool-1.0-0.conda#{SHA}")
    assert [w.name for w in explicit.read_explicit(path, subdir="linux-64")] == ["zlib", "tool"]
