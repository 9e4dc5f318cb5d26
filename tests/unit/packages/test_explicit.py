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
    (URL, r"no sha256 \(nor md5\).*conda list --explicit --sha256"),  # no hash at all
    (f"{URL}#{'0' * 40}", "no sha256"),                 # a sha1-long digest is neither
    (f"{URL}#{'z' * 32}", "no sha256"),                 # not hex
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


MD5 = "cd" * 16


@pytest.mark.parametrize("suffix", [f"#{MD5}", f"#md5:{MD5}", f"#md5={MD5.upper()}"])
def test_md5_only_lines_are_accepted_and_warned_about_once(tmp_path: Path, suffix: str) -> None:
    """What 'conda list --explicit --md5', conda-lock and older exports write."""
    other = URL.replace("zlib-1.3", "xz-5.4")
    path = write(tmp_path, "@EXPLICIT", URL + suffix, f"{other}#{SHA}")
    weak, strong = explicit.read_explicit(path)
    assert (weak.sha256, weak.md5, weak.check) == ("", MD5, ("md5", MD5))
    assert (strong.sha256, strong.md5, strong.check) == (SHA, "", ("sha256", SHA))
    assert explicit.md5_only(path, [weak, strong]) == (
        "warning: 1 of the 2 packages in env.txt are pinned by md5 only and were checked by "
        "md5, which is weaker than sha256 (two archives with one md5 can be made); export "
        "with 'conda list --explicit --sha256' (or 'mambaboot lock ENV --format explicit') to "
        "pin them by sha256.")
    assert explicit.md5_only(path, [strong]) is None
