"""Generated scripts: literal values stay literal, no absolute path, exact bytes.

The .ps1 checks here are structural only: PowerShell cannot be installed on
the machines that run this suite, so activate.ps1 is never executed by it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mambaboot import activation
from mambaboot.activation import fresh
from mambaboot.activation.env_delta import PREFIX_TOKEN
from tests.support.prefixes import AWKWARD_ROOT, clean_environ
from tests.support.wine import Wine, parse_vars

#: Everything a shell could try to expand: quotes, backslash, backtick, $(...), %, !.
WEIRD = "a\"b\\c`d$(echo pwned)e%PATH%f!HOME!g'h & | < > ^ ( ) ; *? ~ $HOME \u2018x\u2019"
NAME = "we`ird$(echo pwned)%x%!y!"
SCRIPTS = ("activate.sh", "activate.fish", "activate.bat", "deactivate.bat", "activate.ps1")


@pytest.fixture
def weird_prefix(prefix: Path) -> Path:
    """The hand-made prefix, its scripts rewritten with hostile variable values."""
    base = fresh.compute(prefix, NAME)
    variables = {**base.variables, "MB_LITERAL": WEIRD, "MB_MIXED": f"<{PREFIX_TOKEN}>{WEIRD}"}
    activation.write_scripts(prefix, base._replace(variables=variables))
    return prefix


def test_every_script_is_written_and_holds_no_absolute_path(prefix: Path) -> None:
    for name in SCRIPTS:
        data = (prefix / name).read_bytes()
        for text in (str(prefix), str(prefix.parent), AWKWARD_ROOT, str(prefix.parent.parent)):
            assert text.encode() not in data, f"{name} contains {text}"
        assert PREFIX_TOKEN.encode() not in data
        assert b"__MB_" not in data  # every placeholder was substituted
    stored = (prefix / ".mambaboot" / "activation.json").read_text(encoding="utf-8")
    assert str(prefix) not in stored and PREFIX_TOKEN in stored


def test_bytes_are_exact_crlf_for_batch_bom_for_powershell(prefix: Path) -> None:
    for name in ("activate.bat", "deactivate.bat"):
        data = (prefix / name).read_bytes()
        assert data.count(b"\n") == data.count(b"\r\n") > 5
    ps1 = (prefix / "activate.ps1").read_bytes()
    assert ps1.startswith(b"\xef\xbb\xbf") and b"\r" not in ps1
    for name in ("activate.sh", "activate.fish"):
        data = (prefix / name).read_bytes()
        assert b"\r" not in data and not data.startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_hostile_values_stay_literal_in_posix_shells(shell: str, weird_prefix: Path,
                                                     home: Path) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    show = 'printf "%s\\n" "$MB_LITERAL" "$MB_MIXED" "$CONDA_DEFAULT_ENV"'
    if shell == "fish":
        argv = [shell, "-c", f"source $argv[1]/activate.fish; {show}", str(weird_prefix)]
    else:
        argv = [shell, "-c", f'. "$1/activate.sh"; {show}', shell, str(weird_prefix)]
    proc = subprocess.run(argv, env=clean_environ(home), capture_output=True, text=True,
                          timeout=60, check=False)
    literal, mixed, name = proc.stdout.split("\n")[:3]
    assert literal == WEIRD, proc.stderr
    assert Path(mixed[1:mixed.index(">")]).resolve() == weird_prefix.resolve()
    assert mixed[mixed.index(">") + 1:] == WEIRD
    assert name == NAME
    assert "pwned" not in proc.stderr


def test_hostile_values_stay_literal_in_cmd_under_wine(wine: Wine, weird_prefix: Path) -> None:
    """Every ASCII character cmd.exe treats specially survives.

    Non-ASCII *literals* rely on ``chcp 65001`` (activate.bat switches to it, as
    virtualenv's does); wine's chcp does not support 65001, so the typographic
    quotes at the end of WEIRD are checked only up to that point here. Non-ASCII
    *paths* come from %~dp0 and are checked in full by the other tests.
    """
    out = wine.run_bat(['@CALL "%MB_TARGET%\\activate.bat"', "@SET"],
                       {"MB_TARGET": wine.windows_path(weird_prefix)})
    got = parse_vars(out)
    ascii_part = WEIRD[:WEIRD.index(" \u2018")]
    assert got["MB_LITERAL"].startswith(ascii_part + " ")
    assert got["MB_MIXED"].startswith(f"<{wine.windows_path(weird_prefix)}>{ascii_part} ")
    assert got["CONDA_DEFAULT_ENV"] == NAME
    assert got["PROMPT"].startswith("(" + NAME.replace("$", "$$") + ") ")


def test_ps1_structure_quotes_hostile_values_not_executed(weird_prefix: Path) -> None:
    """Structure only: PowerShell is not installable here, so the script is not run."""
    text = (weird_prefix / "activate.ps1").read_bytes()[3:].decode("utf-8")
    doubled = WEIRD.replace("'", "''")
    doubled = doubled.replace("\u2018", "\u2018\u2018").replace("\u2019", "\u2019\u2019")
    assert f"${{Env:MB_LITERAL}} = ('{doubled}')" in text
    assert f"${{Env:MB_MIXED}} = ('<' + $MambabootPrefix + '>{doubled}')" in text
    assert "$MambabootPrefix = (Get-Item -LiteralPath $PSScriptRoot).FullName" in text
    assert "function global:deactivate" in text and "function global:prompt" in text
    windows = ("($MambabootPrefix), ($MambabootPrefix + '\\Library\\mingw-w64\\bin'), "
               "($MambabootPrefix + '\\Library\\usr\\bin'), ($MambabootPrefix + '\\Library\\bin'), "
               "($MambabootPrefix + '\\Scripts'), ($MambabootPrefix + '\\bin'), "
               "($MambabootPrefix + '\\condabin')")
    assert f"$MambabootEntries = @({windows})" in text
    posix = "($MambabootPrefix + '/bin'), ($MambabootPrefix + '/condabin')"
    assert f"$MambabootEntries = @({posix})" in text  # pwsh on Linux/macOS
    assert "activate.d" in text and "deactivate.d" in text and "-Filter \"*.ps1\"" in text
    assert text.count("{") == text.count("}") and text.count("(") == text.count(")")
