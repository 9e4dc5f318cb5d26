"""lockfile's own side (no rattler in this process): exports, formats, import cost."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mambaboot import lockfile
from mambaboot.errors import UsageError


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
