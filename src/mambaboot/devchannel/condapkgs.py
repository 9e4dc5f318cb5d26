"""Stand-ins for the ``conda``, ``mamba`` and ``micromamba`` packages.

Their file layout follows the real conda-forge packages (``bin/``,
``condabin/``, ``Scripts/``, ``Library/bin/``, ``etc/profile.d/``) so that code
which inspects or wraps an installed conda/mamba can be tested offline.  Only
``--version`` (and ``conda info --json``) actually work; everything else says
loudly that it is a stand-in.
"""

from __future__ import annotations

from mambaboot.devchannel.spec import POSIX_PLACEHOLDER as PH
from mambaboot.devchannel.spec import WINDOWS_PLACEHOLDER as WPH
from mambaboot.devchannel.spec import FileSpec, PackageSpec

CONDA_VERSION = "24.11.3"
MAMBA_VERSION = "2.0.5"
MICROMAMBA_VERSION = "2.0.5"

_CONDA_INIT = f'"""conda stand-in (mambaboot.devchannel)."""\n__version__ = "{CONDA_VERSION}"\n'

_CONDA_CLI = '''"""Minimal conda CLI: answers --version and `info`, refuses the rest."""
import json
import os
import sys

from conda import __version__


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] in (["--version"], ["-V"]):
        print(f"conda {__version__}")
        return 0
    if args[:1] == ["info"]:
        info = {
            "conda_version": __version__,
            "root_prefix": sys.prefix,
            "active_prefix": os.environ.get("CONDA_PREFIX"),
            "python_version": "%d.%d.%d" % sys.version_info[:3],
            "sys.executable": sys.executable,
        }
        if "--base" in args:
            print(sys.prefix)
        elif "--json" in args:
            print(json.dumps(info, indent=2))
        else:
            for key, value in info.items():
                print(f"{key:>16} : {value}")
        return 0
    print(f"conda {__version__} stand-in (mambaboot devchannel): {args!r} not implemented",
          file=sys.stderr)
    return 2
'''

_CONDA_MAIN = "import sys\nfrom conda.cli import main\nsys.exit(main())\n"

_BIN_CONDA = f"""#!{PH}/bin/python
# -*- coding: utf-8 -*-
import re
import sys

from conda.cli import main

if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""

_CONDABIN_CONDA = f"""#!{PH}/bin/python
# -*- coding: utf-8 -*-
import sys
import os
# Before any more imports, leave cwd out of sys.path for internal 'conda shell.*' commands.
if len(sys.argv) > 1 and sys.argv[1].startswith('shell.') and sys.path and sys.path[0] == '':
    del sys.path[0]

if __name__ == '__main__':
    from conda.cli import main
    sys.exit(main())
"""

_CONDA_SH = f"""export CONDA_EXE='{PH}/bin/conda'
export _CE_M=''
export _CE_CONDA=''
export CONDA_PYTHON_EXE='{PH}/bin/python'

__conda_exe() (
    "$CONDA_EXE" $_CE_M $_CE_CONDA "$@"
)

conda() {{
    __conda_exe "$@"
}}
"""


def _stand_in(tool: str, version: str, prints: str) -> FileSpec:
    body = f"""#!/bin/sh
# mambaboot devchannel STAND-IN for {tool} {version}: not the real program.
# It only prints its version for --version; everything else fails loudly.
case "$1" in
  --version|-V) echo "{prints}"; exit 0 ;;
esac
echo "{tool} {version} stand-in (mambaboot devchannel): '$*' is not implemented" >&2
exit 2
"""
    return FileSpec(body.encode(), executable=True)


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def _site(sp: str) -> dict[str, bytes | FileSpec]:
    return {
        f"{sp}/conda/__init__.py": _CONDA_INIT.encode(),
        f"{sp}/conda/__main__.py": _CONDA_MAIN.encode(),
        f"{sp}/conda/cli/__init__.py": _CONDA_CLI.encode(),
    }


def conda_posix(subdir: str, py_xy: str) -> PackageSpec:
    """``conda`` for Linux/macOS: entry points with placeholder shebangs."""
    files = _site(f"lib/python{py_xy}/site-packages")
    files["bin/conda"] = FileSpec(_BIN_CONDA.encode(), executable=True, placeholder=PH)
    files["condabin/conda"] = FileSpec(_CONDABIN_CONDA.encode(), executable=True, placeholder=PH)
    files["etc/profile.d/conda.sh"] = FileSpec(_CONDA_SH.encode(), placeholder=PH)
    files["bin/activate"] = FileSpec(
        f'#!/bin/sh\n_CONDA_ROOT="{PH}"\n. "$_CONDA_ROOT/etc/profile.d/conda.sh" || return $?\n'
        'conda activate "$@"\n'.encode(),
        executable=True,
        placeholder=PH,
    )
    return PackageSpec(
        "conda", CONDA_VERSION, build="py_0", subdir=subdir, depends=["python"], files=files
    )


def conda_windows(py_xy: str) -> PackageSpec:
    """``conda`` for win-64, shaped like the real one (structure tests only)."""
    del py_xy  # Windows site-packages carries no version
    files = _site("Lib/site-packages")
    files["Scripts/conda-script.py"] = _BIN_CONDA.split("\n", 1)[1].encode()
    files["Scripts/conda.exe"] = b"MZ\x90\x00mambaboot stand-in launcher\x00"
    files["condabin/conda.bat"] = _crlf(
        "@REM mambaboot devchannel stand-in shaped like conda's condabin\\conda.bat\n"
        "@IF NOT DEFINED _CE_CONDA (\n"
        "  @SET _CE_M=\n"
        '  @SET "CONDA_EXE=%~dp0..\\Scripts\\conda.exe"\n'
        ")\n"
        '@IF [%1]==[activate]   "%~dp0_conda_activate" %*\n'
        '@IF [%1]==[deactivate] "%~dp0_conda_activate" %*\n'
        '@CALL "%CONDA_EXE%" %_CE_M% %_CE_CONDA% %*\n'
        "@IF %errorlevel% NEQ 0 EXIT /B %errorlevel%\n"
    )
    files["condabin/_conda_activate.bat"] = _crlf("@REM stand-in\n@EXIT /B 1\n")
    files["condabin/conda_hook.bat"] = _crlf(
        "@IF DEFINED CONDA_SHLVL GOTO :EOF\n"
        '@SET "PATH=%~dp0;%PATH%"\n'
        '@DOSKEY conda="%~dp0conda.bat" $*\n'
        "@SET CONDA_SHLVL=0\n"
    )
    files["condabin/activate.bat"] = _crlf('@CALL "%~dp0conda.bat" activate %*\n')
    files["Scripts/activate.bat"] = _crlf('@CALL "%~dp0..\\condabin\\conda.bat" activate %*\n')
    return PackageSpec(
        "conda", CONDA_VERSION, build="py_0", subdir="win-64", depends=["python"], files=files
    )


def mamba_posix(subdir: str) -> PackageSpec:
    """``mamba`` 2.x for POSIX: one executable plus its shell hook file."""
    hook = (
        f"export MAMBA_EXE='{PH}/bin/mamba'\n"
        f"export MAMBA_ROOT_PREFIX='{PH}'\n"
        '__mamba_exe() (\n    "$MAMBA_EXE" "$@"\n)\n'
    )
    files: dict[str, bytes | FileSpec] = {
        "bin/mamba": _stand_in("mamba", MAMBA_VERSION, MAMBA_VERSION),
        "etc/profile.d/mamba.sh": FileSpec(hook.encode(), placeholder=PH),
    }
    return PackageSpec(
        "mamba", MAMBA_VERSION, build="h0_0", subdir=subdir, depends=["conda"], files=files
    )


def mamba_windows() -> PackageSpec:
    """``mamba`` 2.x for win-64: ``Library/bin/mamba.exe`` plus condabin batch files."""
    exe = f"{WPH}\\Library\\bin\\mamba.exe"
    files: dict[str, bytes | FileSpec] = {
        "Library/bin/mamba.exe": b"MZ\x90\x00mambaboot stand-in for mamba.exe\x00",
        "condabin/mamba.bat": FileSpec(
            _crlf(
                "@REM Copyright (C) 2012 Anaconda, Inc\n"
                "@REM SPDX-License-Identifier: BSD-3-Clause\n"
                '@IF [%1]==[activate]   "%~dp0_mamba_activate" %*\n'
                '@IF [%1]==[deactivate] "%~dp0_mamba_activate" %*\n'
                "@SETLOCAL EnableDelayedExpansion\n"
                f'@SET "MAMBA_EXE={exe}"\n'
                '@CALL "%MAMBA_EXE%" %*\n'
                "@IF %errorlevel% NEQ 0 EXIT /B %errorlevel%\n"
            ),
            placeholder=WPH,
        ),
        "condabin/mamba_hook.bat": FileSpec(
            _crlf(
                '@IF "%CONDA_SHLVL%" == "" (\n  @SET "CONDA_SHLVL=0"\n)\n'
                f'@SET "MAMBA_EXE={exe}"\n'
                f'@SET "MAMBA_ROOT_PREFIX={WPH}"\n'
                '@SET "PATH=%~dp0;%PATH%"\n'
                '@SET "MAMBA_BAT=%~dp0mamba.bat"\n'
                '@DOSKEY mamba="%MAMBA_BAT%" $*\n'
            ),
            placeholder=WPH,
        ),
        "condabin/_mamba_activate.bat": FileSpec(
            _crlf(f'@SET "MAMBA_EXE={exe}"\n@CALL "%MAMBA_EXE%" shell %* -s cmd.exe\n'),
            placeholder=WPH,
        ),
    }
    return PackageSpec(
        "mamba", MAMBA_VERSION, build="h0_0", subdir="win-64", depends=["conda"], files=files
    )


def micromamba(subdir: str) -> PackageSpec:
    """``micromamba``: a single executable, like the real static binary package."""
    files: dict[str, bytes | FileSpec]
    if subdir.startswith("win-"):
        files = {"Library/bin/micromamba.exe": b"MZ\x90\x00mambaboot stand-in micromamba\x00"}
    else:
        files = {"bin/micromamba": _stand_in("micromamba", MICROMAMBA_VERSION, MICROMAMBA_VERSION)}
    return PackageSpec("micromamba", MICROMAMBA_VERSION, build="0", subdir=subdir, files=files)
