"""The pip: section's parsing, wheel tags, the lock's pypi entries and RECORD checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from mambaboot import pypi
from mambaboot.errors import LockFormatError, UsageError
from tests.support.pypi_index import build_wheel


def test_pip_section_keeps_requirements_and_index_options(tmp_path: Path) -> None:
    section = pypi.parse_pip_section(tmp_path / "e.yml", [
        "requests>=2", "-i https://mirror/simple", "--extra-index-url=https://extra/simple",
        "-f https://wheels/", "Foo_Bar[socks]==1.0"])
    assert section.requirements == ("requests>=2", "Foo_Bar[socks]==1.0")
    assert section.options == ("--index-url", "https://mirror/simple", "--extra-index-url",
                               "https://extra/simple", "--find-links", "https://wheels/")


@pytest.mark.parametrize("item", ["-e .", "./local", "/abs/pkg", "git+https://x/y.git",
                                  "pkg @ https://x/pkg.whl", "-r other.txt", "--index-url",
                                  "https://x/pkg.whl", ""])
def test_what_cannot_be_installed_exactly_is_refused_by_name(tmp_path: Path, item: str) -> None:
    with pytest.raises(UsageError, match="pip"):
        pypi.parse_pip_section(tmp_path / "e.yml", [item])


def test_pip_section_must_be_a_list(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a list"):
        pypi.parse_pip_section(tmp_path / "e.yml", "requests")


def test_filename_tags_expand_compressed_sets() -> None:
    url = ("https://x/numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    assert pypi._filename_tags(url) == {"cp312-cp312-manylinux_2_17_x86_64",
                                        "cp312-cp312-manylinux2014_x86_64"}
    assert pypi._filename_tags("https://x/a-1.0-py2.py3-none-any.whl") == {
        "py2-none-any", "py3-none-any"}
    assert pypi._filename_tags("https://x/odd.whl") == frozenset()


def test_locked_entries_must_be_wheels_with_a_sha256() -> None:
    good = pypi.Wheel("a", "1", "https://x/a-1-py3-none-any.whl", "ab" * 32)
    assert pypi.check_locked([good], "lock.yml") == [good]
    with pytest.raises(LockFormatError, match="no sha256 for the PyPI package a"):
        pypi.check_locked([pypi.Wheel("a", "1", good.url, "")], "lock.yml")
    with pytest.raises(LockFormatError, match=r"PyPI package a .*not a wheel"):
        pypi.check_locked([pypi.Wheel("a", "1", "https://x/a-1.tar.gz", "ab" * 32)], "lock.yml")


def install_by_hand(prefix: Path, wheel_file: Path) -> Path:
    """Unzip a wheel into site-packages (what an installer does for a pure wheel)."""
    import zipfile

    site = prefix / "lib" / "python3.12" / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel_file) as archive:
        archive.extractall(site)
    return site


def test_record_drift_names_modified_and_missing_files(tmp_path: Path) -> None:
    wheel_file = build_wheel(tmp_path / "w", "hello", "1.0",
                             {"hello/__init__.py": "X = 1\n", "hello/data.txt": "d\n"})
    prefix = tmp_path / "env"
    site = install_by_hand(prefix, wheel_file)
    wheel = pypi.Wheel("hello", "1.0", wheel_file.as_uri(), "ab" * 32)
    assert pypi.check_installed(prefix, [wheel]) == []
    (site / "hello" / "__init__.py").write_text("X = 2\n")
    (site / "hello" / "data.txt").unlink()
    assert pypi.check_installed(prefix, [wheel]) == [
        "hello: hello/__init__.py was modified", "hello: hello/data.txt is missing"]
    assert pypi.check_installed(prefix, [pypi.Wheel("hello", "2.0", wheel.url, "ab" * 32)]) == [
        "hello 2.0 is now 1.0"]
    assert pypi.check_installed(prefix, [pypi.Wheel("gone", "1", wheel.url, "ab" * 32)]) == [
        "gone 1 is no longer installed"]


def test_the_record_round_trips_and_names_its_index(tmp_path: Path) -> None:
    wheel = pypi.Wheel("a", "1", "https://x/a-1-py3-none-any.whl", "ab" * 32, ("b<2",), ">=3")
    pypi.record(tmp_path, [wheel], ["--index-url", "https://mirror/simple"])
    assert pypi.recorded(tmp_path) == [wheel]
    assert pypi.recorded_options(tmp_path) == ["--index-url https://mirror/simple"]
    pypi.record(tmp_path, [])
    assert pypi.recorded(tmp_path) == [] and pypi.recorded_options(tmp_path) == []


def test_uv_runs_without_the_callers_config(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("UV_INDEX_URL", "https://mirror/simple")
    monkeypatch.setenv("UV_LINK_MODE", "hardlink")
    monkeypatch.setenv("PIP_INDEX_URL", "https://elsewhere/simple")
    monkeypatch.setenv("VIRTUAL_ENV", "/some/venv")
    env = pypi._environ(tmp_path)
    assert env["UV_INDEX_URL"] == "https://mirror/simple"  # a company mirror is kept
    assert "UV_LINK_MODE" not in env and "PIP_INDEX_URL" not in env and "VIRTUAL_ENV" not in env
    assert env["UV_CACHE_DIR"] == str(tmp_path / "uv") and env["UV_NO_CONFIG"] == "1"


def test_a_pip_item_with_a_line_break_is_refused(tmp_path: Path) -> None:
    """A newline would become a second, unchecked requirements line (a local path)."""
    with pytest.raises(UsageError, match="line break"):
        pypi.parse_pip_section(tmp_path / "e.yml", ["hello\n/tmp/evil/hello-1.0-py3-none-any.whl"])


@pytest.mark.parametrize(("entries", "problem"), [
    ([("a", "https://x/a-1-py3-none-any.whl"), ("A", "https://x/a-2-py3-none-any.whl")], "twice"),
    ([("a", "https://x/%2Ftmp%2Fa-1-py3-none-any.whl")], "not a wheel file name"),
    ([("a", "https://x/other-1-py3-none-any.whl")], "not a wheel file name"),
    ([("a", "/local/a-1-py3-none-any.whl")], "not an https://"),
    ([("a", "ftp://x/a-1-py3-none-any.whl")], "not an https://"),
])
def test_locked_entries_cannot_name_other_files(entries: list[tuple[str, str]],
                                                problem: str) -> None:
    wheels = [pypi.Wheel(name, "1", url, "ab" * 32) for name, url in entries]
    with pytest.raises(LockFormatError, match=problem):
        pypi.check_locked(wheels, "lock.yml")
