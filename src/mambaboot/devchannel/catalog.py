"""The small demo packages: each one exercises one installer feature.

- ``libdemo`` 1.0/2.0 + ``demo-tool`` (needs ``libdemo >=2``): solving picks
  the newer version and a shell script in ``bin/`` runs.
- ``demo-noarch``: a ``noarch: python`` package with an entry point.
- ``demo-activate``: ``activate.d``/``deactivate.d`` scripts for every shell.
- ``demo-prefix``: a text file with the prefix placeholder.
- ``demo-postlink``: a post-link script (installers should not run it by default).
"""

from __future__ import annotations

from mambaboot.devchannel.pythonpkg import PYTHON_BUILD, PYTHON_VERSION
from mambaboot.devchannel.spec import POSIX_PLACEHOLDER, FileSpec, PackageSpec

LIBDEMO_VERSIONS = ("1.0", "2.0")
DEMO_TOOL_VERSION = "1.0"
DEMO_NOARCH_VERSION = "0.3.0"
DEMO_ACTIVATE_VERSION = "1.0"
DEMO_PREFIX_VERSION = "1.0"
DEMO_POSTLINK_VERSION = "1.0"

#: The line `demo-tool` prints; tests compare against it.
DEMO_TOOL_OUTPUT = "demo-tool 1.0 with libdemo 2.0"


def libdemo(version: str, subdir: str) -> PackageSpec:
    """A "library" whose version is readable at runtime by its dependents."""
    files: dict[str, bytes | FileSpec] = {
        "share/libdemo/version.txt": f"{version}\n".encode(),
        "lib/libdemo.txt": f"libdemo {version} (not a real shared library)\n".encode(),
    }
    return PackageSpec("libdemo", version, subdir=subdir, files=files)


def demo_tool(subdir: str) -> PackageSpec:
    """A shell tool that locates its library relative to itself (relocatable)."""
    script = (
        "#!/bin/sh\n"
        'here=$(cd "$(dirname "$0")/.." && pwd)\n'
        'echo "demo-tool 1.0 with libdemo $(cat "$here/share/libdemo/version.txt")"\n'
    )
    return PackageSpec(
        "demo-tool",
        DEMO_TOOL_VERSION,
        subdir=subdir,
        depends=["libdemo >=2"],
        files={"bin/demo-tool": FileSpec(script.encode(), executable=True)},
    )


def demo_noarch() -> PackageSpec:
    """``noarch: python``: installers must relocate ``site-packages/`` per python."""
    init = (
        '"""Demo noarch package, proves the env python imports its site-packages."""\n'
        "import sys\n\n"
        '__version__ = "' + DEMO_NOARCH_VERSION + '"\n\n\n'
        "def main():\n"
        '    print(f"demo-noarch {__version__} on {sys.prefix}")\n'
        "    return 0\n"
    )
    return PackageSpec(
        "demo-noarch",
        DEMO_NOARCH_VERSION,
        build="pyh0_0",
        noarch="python",
        depends=["python"],
        files={"site-packages/demo_noarch/__init__.py": init.encode()},
        entry_points=["demo-noarch = demo_noarch:main"],
    )


def _activate_files() -> dict[str, bytes | FileSpec]:
    act = "etc/conda/activate.d/demo-activate"
    deact = "etc/conda/deactivate.d/demo-activate"
    crlf = "\r\n"
    return {
        f"{act}.sh": b'export DEMO_ACTIVATED=1\nexport DEMO_HOME="$CONDA_PREFIX/share/demo"\n',
        f"{act}.fish": b'set -gx DEMO_ACTIVATED 1\nset -gx DEMO_HOME "$CONDA_PREFIX/share/demo"\n',
        f"{act}.ps1": (
            b'$Env:DEMO_ACTIVATED = "1"\n$Env:DEMO_HOME = "$Env:CONDA_PREFIX\\share\\demo"\n'
        ),
        f"{act}.bat": crlf.join(
            ['@SET "DEMO_ACTIVATED=1"', '@SET "DEMO_HOME=%CONDA_PREFIX%\\share\\demo"', ""]
        ).encode(),
        f"{deact}.sh": b"unset DEMO_ACTIVATED\nunset DEMO_HOME\n",
        f"{deact}.fish": b"set -e DEMO_ACTIVATED\nset -e DEMO_HOME\n",
        f"{deact}.ps1": (
            b"Remove-Item Env:DEMO_ACTIVATED -ErrorAction SilentlyContinue\n"
            b"Remove-Item Env:DEMO_HOME -ErrorAction SilentlyContinue\n"
        ),
        f"{deact}.bat": crlf.join(['@SET "DEMO_ACTIVATED="', '@SET "DEMO_HOME="', ""]).encode(),
        "share/demo/README.txt": b"DEMO_HOME points here when demo-activate is active.\n",
    }


def demo_activate() -> PackageSpec:
    """Activation scripts for sh, fish, PowerShell and cmd.exe (noarch: generic)."""
    return PackageSpec(
        "demo-activate", DEMO_ACTIVATE_VERSION, noarch="generic", files=_activate_files()
    )


def demo_prefix(subdir: str) -> PackageSpec:
    """A text file the installer must rewrite to contain the real prefix."""
    text = f"prefix={POSIX_PLACEHOLDER}\nbin={POSIX_PLACEHOLDER}/bin\n"
    return PackageSpec(
        "demo-prefix",
        DEMO_PREFIX_VERSION,
        subdir=subdir,
        files={
            "share/demo-prefix/where.txt": FileSpec(text.encode(), placeholder=POSIX_PLACEHOLDER)
        },
    )


def demo_postlink(subdir: str) -> PackageSpec:
    """A post-link script leaving a marker: shows whether link scripts ran."""
    script = (
        'mkdir -p "$PREFIX/share/demo-postlink"\necho ran > "$PREFIX/share/demo-postlink/ran.txt"\n'
    )
    return PackageSpec(
        "demo-postlink",
        DEMO_POSTLINK_VERSION,
        subdir=subdir,
        files={"share/demo-postlink/README.txt": b"ran.txt appears if post-link ran\n"},
        link_scripts={"post-link": script},
    )


def python_windows() -> PackageSpec:
    """A win-64 ``python`` placeholder so win-64 conda/mamba solve (structure only)."""
    return PackageSpec(
        "python",
        PYTHON_VERSION,
        build=PYTHON_BUILD,
        subdir="win-64",
        files={
            "python.exe": b"MZ\x90\x00mambaboot stand-in python.exe\x00",
            "python3.dll": b"MZ\x90\x00mambaboot stand-in python3.dll\x00",
            "Lib/os.py": b"# stand-in stdlib module (structure tests only)\n",
            "Lib/site-packages/README.txt": b"site-packages\n",
        },
    )


def demo_packages(subdir: str) -> list[PackageSpec]:
    """The platform-independent part of the demo catalog for `subdir`."""
    specs = [libdemo(v, subdir) for v in LIBDEMO_VERSIONS]
    specs += [demo_tool(subdir), demo_prefix(subdir), demo_postlink(subdir)]
    specs += [demo_noarch(), demo_activate()]
    return specs
