"""The installer templates: every field filled, each script's syntax checked by a parser.

No PowerShell runs on these machines, so install.ps1 (and the activate.ps1 every
environment gets) is parsed with tree-sitter's PowerShell grammar; install.sh
goes through ``sh -n``. install.bat and install.sh run for real in
tests/integration/test_install_bat.py and test_export.py.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from mambaboot.installer import SCRIPTS, TEMPLATES, _render

FIELDS = {"NAME": "demo", "DIRNAME": "demo_3_12", "PLATFORM": "win-64", "COUNT": "3",
          "MAMBABOOT_VERSION": "0.1", "DATE": "2026-12-02 06:00 UTC", "MM_VERSION": "2.3.3-0",
          "MM_SHA256": "ab" * 32, "MM_URL": "https://example.invalid/micromamba-win-64",
          "MM_FILE": "", "OFFLINE": "0", "OFFLINE_NOTE": "packages are downloaded"}


def rendered(name: str) -> str:
    return _render((TEMPLATES / name).read_text(encoding="utf-8"), FIELDS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_field_of_every_template_is_filled(name: str) -> None:
    assert re.findall(r"@[A-Z_0-9]+@", rendered(name)) == []


def powershell_errors(source: str) -> list[str]:
    tsp = pytest.importorskip("tree_sitter_powershell", reason="a test extra")
    from tree_sitter import Language, Parser

    tree = Parser(Language(tsp.language())).parse(source.encode())
    errors: list[str] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            errors.append(f"line {node.start_point[0] + 1}: {node.text[:60]!r}")
        stack.extend(node.children)
    return errors


def test_install_ps1_parses() -> None:
    assert powershell_errors(rendered("install.ps1")) == []
    assert powershell_errors("if ($x { Write-Host 'broken'") != []  # the parser does catch


def test_the_environments_activate_ps1_parses() -> None:
    from mambaboot.activation import powershell

    template = Path(powershell.__file__).parent / "activate.ps1"
    assert powershell_errors(template.read_text(encoding="utf-8")) == []


def test_install_sh_is_valid_posix_sh(tmp_path: Path) -> None:
    script = tmp_path / "install.sh"
    script.write_text(rendered("install.sh"))
    subprocess.run(["sh", "-n", str(script)], check=True)
