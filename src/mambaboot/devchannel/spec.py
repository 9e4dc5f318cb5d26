"""Plain data describing one conda package, independent of how it is archived.

Tests, the demo catalog and the benchmark generator all describe packages with
these dataclasses so that a single writer (`archive.write_package`) is the only
place that has to know the conda archive format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import rattler

#: The placeholder conda-build writes into text files on POSIX; installers
#: replace it with the target prefix.  Using the real string keeps our packages
#: honest: anything that handles real packages must handle it.
POSIX_PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"

#: Windows packages record the (long) build prefix as placeholder instead.
#: This mimics conda-forge's `D:\bld\<name>_<timestamp>\_h_env...` form.
WINDOWS_PLACEHOLDER = (
    "D:\\bld\\mambaboot_1700000000000\\_h_env_placehold_placehold_placehold_placehold"
)

#: Fixed timestamps make archives and repodata byte-for-byte reproducible.
FIXED_MTIME = 1_700_000_000
FIXED_TIMESTAMP_MS = FIXED_MTIME * 1000

NoArch = Literal["python", "generic"]
LinkScriptKind = Literal["pre-link", "post-link", "pre-unlink"]


def current_subdir() -> str:
    """The conda subdir of the machine running the code (e.g. ``linux-64``)."""
    return str(rattler.Subdir.current())


@dataclass(frozen=True)
class FileSpec:
    """A payload file with the attributes that matter to an installer.

    `placeholder` marks the file as containing a prefix placeholder, which the
    installer must rewrite; `file_mode` says whether that happens as text
    (length may change) or binary (NUL padded, same length).
    """

    data: bytes
    executable: bool = False
    placeholder: str | None = None
    file_mode: Literal["text", "binary"] = "text"
    no_link: bool = False


@dataclass(frozen=True)
class RawMember:
    """A tar member written verbatim, bypassing every sanity check.

    Exists for hostile-package tests: names like ``../x`` or ``/abs/x``,
    symlinks pointing outside the prefix, hardlinks, devices.
    """

    name: str
    kind: Literal["file", "symlink", "hardlink", "dir"] = "file"
    data: bytes = b""
    linkname: str = ""
    mode: int = 0o644
    #: a pax ``path=`` record that disagrees with ``name`` (written as a GNU long name)
    pax_path: str | None = None
    size: int | None = None  # data streamed as zeros when set (decompression bombs)


@dataclass
class PackageSpec:
    """Everything needed to write one conda package archive.

    `files` values may be raw bytes (plain, non-executable, no placeholder) or
    a `FileSpec`.  `link_scripts` maps a kind (``post-link`` ...) to the script
    body; it lands at ``bin/.NAME-KIND.sh`` (``Scripts/.NAME-KIND.bat`` on
    Windows subdirs) like conda-build puts it.
    """

    name: str
    version: str
    build: str = "h0_0"
    build_number: int = 0
    depends: list[str] = field(default_factory=list)
    constrains: list[str] = field(default_factory=list)
    subdir: str = field(default_factory=current_subdir)
    noarch: NoArch | None = None
    files: Mapping[str, bytes | FileSpec] = field(default_factory=dict)
    symlinks: Mapping[str, str] = field(default_factory=dict)
    link_scripts: Mapping[LinkScriptKind, str] = field(default_factory=dict)
    entry_points: list[str] = field(default_factory=list)
    license: str = "BSD-3-Clause"
    summary: str = ""
    timestamp: int = FIXED_TIMESTAMP_MS
    # Escape hatches for hostile-package tests.
    extra_paths_json_entries: list[dict[str, Any]] = field(default_factory=list)
    extra_index_json: dict[str, Any] = field(default_factory=dict)
    info_files: Mapping[str, bytes] = field(default_factory=dict)
    raw_members: list[RawMember] = field(default_factory=list)
    omit_info: tuple[str, ...] = ()  # generated info/ files left out (replaced by raw members)
    compresslevel: int = 9
    fmt: Literal["tar.bz2", "conda"] = "tar.bz2"

    def __post_init__(self) -> None:
        if self.noarch is not None and self.subdir != "noarch":
            self.subdir = "noarch"

    @property
    def filename(self) -> str:
        """The archive's file name as it appears in repodata."""
        return f"{self.name}-{self.version}-{self.build}.{self.fmt}"

    @property
    def is_windows(self) -> bool:
        """Whether payload paths follow the Windows layout (``Scripts/``, ``Library/``)."""
        return self.subdir.startswith("win-")
