"""lockfile's own side (no rattler in this process): @EXPLICIT files, headers, formats."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mambaboot import lockfile
from mambaboot.errors import LockFormatError, UsageError

SHA = "ab" * 32
URL = "https://conda.example/ch/linux-64/zlib-1.3-h0_0.conda"


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "env.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_our_export_header_is_read_back_as_explicit(tmp_path: Path) -> None:
    path = write(tmp_path, *lockfile.explicit_header("linux-64"), f"{URL}#{SHA}")
    assert lockfile.is_explicit(path)
    (want,) = lockfile.read_explicit(path)
    assert (want.name, want.file_name, want.url, want.sha256) == (
        "zlib", "zlib-1.3-h0_0.conda", URL, SHA)
    assert want.dist == "zlib-1.3-h0_0"


@pytest.mark.parametrize("suffix", [f"#sha256:{SHA}", f"#sha256={SHA}", f"#{SHA.upper()}"])
def test_digest_spellings_conda_writes_are_accepted(tmp_path: Path, suffix: str) -> None:
    (want,) = lockfile.read_explicit(write(tmp_path, "@EXPLICIT", URL + suffix))
    assert want.sha256 == SHA


@pytest.mark.parametrize(("line", "says"), [
    (f"{URL}#{'0' * 32}", "no sha256"),                 # an md5 only
    (URL, "no sha256"),                                 # no hash at all
    (f"https://conda.example/ch/README#{SHA}", "not a package URL"),
])
def test_bad_lines_are_refused_naming_the_fix(tmp_path: Path, line: str, says: str) -> None:
    with pytest.raises(LockFormatError, match=says):
        lockfile.read_explicit(write(tmp_path, "@EXPLICIT", line))


def test_an_empty_explicit_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LockFormatError, match="lists no packages"):
        lockfile.read_explicit(write(tmp_path, "# platform: linux-64", "@EXPLICIT"))


def test_a_yaml_lock_is_not_explicit_and_a_missing_file_is_named(tmp_path: Path) -> None:
    assert not lockfile.is_explicit(write(tmp_path, "version: 6", "environments: {}"))
    with pytest.raises(LockFormatError, match="Cannot read the lockfile"):
        lockfile.is_explicit(tmp_path / "nope.yml")


def test_channel_of_a_package_url() -> None:
    assert lockfile.channel_of_url(URL) == "https://conda.example/ch"


def test_environment_yml_export_names_specs_not_pins() -> None:
    import yaml

    text = lockfile.environment_yml("demo", ["https://c/ch"], ["python=3.12", "conda"])
    assert yaml.safe_load(text) == {"name": "demo", "channels": ["https://c/ch"],
                                    "dependencies": ["python=3.12", "conda"]}


def test_an_unknown_format_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not one of"):
        lockfile.lock_env(tmp_path, format="toml")


def test_importing_lockfile_loads_no_rattler() -> None:
    import subprocess

    out = subprocess.run([sys.executable, "-c", "import sys, mambaboot.lockfile; "
                          "print('rattler' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_the_cli_offers_exactly_the_formats_lockfile_writes() -> None:
    from mambaboot.cli.cmd_lock import FORMATS

    assert FORMATS == lockfile.FORMATS
