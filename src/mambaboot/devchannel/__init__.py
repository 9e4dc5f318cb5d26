"""Local conda channels for tests, benchmarks and the offline demo.

No conda channel is reachable where this project is built and tested, so this
package writes real conda archives itself: a relocatable ``python`` made from
the running interpreter, the real ``conda`` (its libraries repackaged from PyPI
wheels) and ``mamba`` built from the material in ``../shared`` (`realpkgs`,
`wheels`), stand-ins laid out like the real packages where that material is
missing or a test injects behaviour (`condapkgs`), small demo packages, and
synthetic benchmark channels.
`serve_directory` / `ChannelServer` serve a channel over HTTP with fault
injection.  CLI: ``python -m mambaboot.devchannel build|serve|synthetic``.
"""

from __future__ import annotations

from mambaboot.devchannel.archive import archive_bytes, write_package
from mambaboot.devchannel.build import (
    build_demo_channel,
    build_demo_channel_cached,
    demo_channel_key,
    index_channel,
    write_packages,
)
from mambaboot.devchannel.catalog import (
    DEMO_ACTIVATE_VERSION,
    DEMO_NOARCH_VERSION,
    DEMO_PREFIX_VERSION,
    DEMO_TOOL_OUTPUT,
    DEMO_TOOL_VERSION,
    LIBDEMO_VERSIONS,
)
from mambaboot.devchannel.condapkgs import CONDA_VERSION as STANDIN_CONDA_VERSION
from mambaboot.devchannel.condapkgs import MAMBA_VERSION as STANDIN_MAMBA_VERSION
from mambaboot.devchannel.condapkgs import MICROMAMBA_VERSION
from mambaboot.devchannel.pythonpkg import PYTHON_BUILD, PYTHON_VERSION
from mambaboot.devchannel.realpkgs import (
    REAL_CONDA_VERSION,
    REAL_MAMBA_VERSION,
    SharedMaterial,
    find_shared_dir,
)
from mambaboot.devchannel.server import ChannelServer, FaultRule, Faults, serve_directory
from mambaboot.devchannel.spec import (
    POSIX_PLACEHOLDER,
    WINDOWS_PLACEHOLDER,
    FileSpec,
    PackageSpec,
    RawMember,
    current_subdir,
)
from mambaboot.devchannel.synthetic import build_synthetic_channel

#: Alias used by tests and docs: the python version the demo channel ships.
DEMO_PYTHON_VERSION = PYTHON_VERSION

#: The conda and mamba versions of the demo channel (the real ones; a channel
#: built without ../shared carries the STANDIN_* versions instead, said on stderr).
CONDA_VERSION = REAL_CONDA_VERSION
MAMBA_VERSION = REAL_MAMBA_VERSION

__all__ = [
    "CONDA_VERSION",
    "DEMO_ACTIVATE_VERSION",
    "DEMO_NOARCH_VERSION",
    "DEMO_PREFIX_VERSION",
    "DEMO_PYTHON_VERSION",
    "DEMO_TOOL_OUTPUT",
    "DEMO_TOOL_VERSION",
    "LIBDEMO_VERSIONS",
    "MAMBA_VERSION",
    "MICROMAMBA_VERSION",
    "POSIX_PLACEHOLDER",
    "PYTHON_BUILD",
    "PYTHON_VERSION",
    "REAL_CONDA_VERSION",
    "REAL_MAMBA_VERSION",
    "STANDIN_CONDA_VERSION",
    "STANDIN_MAMBA_VERSION",
    "WINDOWS_PLACEHOLDER",
    "ChannelServer",
    "FaultRule",
    "Faults",
    "FileSpec",
    "PackageSpec",
    "RawMember",
    "SharedMaterial",
    "archive_bytes",
    "build_demo_channel",
    "build_demo_channel_cached",
    "build_synthetic_channel",
    "current_subdir",
    "demo_channel_key",
    "find_shared_dir",
    "index_channel",
    "serve_directory",
    "write_package",
    "write_packages",
]
