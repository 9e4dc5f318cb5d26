"""What the conda and mamba inside a new environment need: the seed's step 2.

mambaboot bootstraps once; from then on the environment is managed with the
``conda`` and ``mamba`` that live in it. For that to be safe:

* ``conda-meta/history`` records what was asked for. rattler leaves it empty,
  and conda then treats every package as removable: ``conda remove x`` would
  take python and everything else with it.
* conda-meta records are readable by everyone (0644 under the usual umask),
  as conda writes them; rattler writes 0600.
* ``PREFIX/.condarc`` (read by the inner conda and mamba only, never by
  mambaboot) names the channels the environment was made from and keeps both
  tools out of HOME: no ``~/.conda/environments.txt``, no notices cache, no
  ``~/.mamba/pkgs``; the shared cache (``PREFIX/pkgs``) is their package dir.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mambaboot.spec import CHANNEL_ALIAS

CONDARC = ".condarc"
HISTORY_HEADER = "# mambaboot version: {version}"


def channel_name(url: str) -> str:
    """``https://conda.anaconda.org/conda-forge/`` -> ``conda-forge``, as conda writes it."""
    url = url.rstrip("/")
    prefix = CHANNEL_ALIAS.rstrip("/") + "/"
    return url[len(prefix):] if url.startswith(prefix) else url


def history_text(records: Iterable[Mapping[str, Any]], specs: Sequence[str], command: str,
                 version: str, when: dt.datetime | None = None) -> str:
    """One revision in conda's ``conda-meta/history`` format (``conda list --revisions``)."""
    stamp = (when or dt.datetime.now()).strftime("%Y-%m-%d %H:%M:%S")
    lines = [f"==> {stamp} <==", f"# cmd: {command}", HISTORY_HEADER.format(version=version)]
    for record in sorted(records, key=lambda r: str(r.get("name"))):
        channel = channel_name(str(record.get("channel") or ""))
        subdir = record.get("subdir") or ""
        where = f"{channel}/{subdir}" if channel and subdir else channel
        dist = f"{record.get('name')}-{record.get('version')}-{record.get('build')}"
        lines.append(f"+{where}::{dist}" if where else f"+{dist}")
    lines.append(f"# update specs: {list(specs)!r}")
    return "\n".join(lines) + "\n"


def write_history(prefix: Path, records: Sequence[Mapping[str, Any]], specs: Sequence[str],
                  command: str, version: str) -> None:
    """Write the first revision, unless the engine already wrote one (micromamba does)."""
    history = prefix / "conda-meta" / "history"
    try:
        if history.stat().st_size > 0:
            return
    except FileNotFoundError:
        pass
    requested = list(specs) or sorted(str(r.get("name")) for r in records)
    history.write_text(history_text(records, requested, command, version), encoding="utf-8")


def readable_records(prefix: Path) -> None:
    """conda-meta/*.json as conda writes them: 0666 less the umask (0644 usually)."""
    umask = os.umask(0)
    os.umask(umask)
    mode = 0o666 & ~umask
    for record in (prefix / "conda-meta").glob("*.json"):
        with contextlib.suppress(OSError):
            if not record.is_symlink():
                os.chmod(record, mode)


def condarc_text(channels: Sequence[str], pkgs_dir: Path, *, rattler_solver: bool) -> str:
    """The inner conda/mamba configuration (JSON is valid YAML: no YAML writer needed)."""
    config: dict[str, Any] = {
        "channels": [channel_name(c) for c in channels],
        "pkgs_dirs": [str(pkgs_dir)],
        "register_envs": False,          # no ~/.conda/environments.txt
        "number_channel_notices": 0,     # no ~/.cache/conda/notices
        "notify_outdated_conda": False,
        "auto_update_conda": False,
        "report_errors": False,
    }
    if rattler_solver:
        config["solver"] = "rattler"     # conda-libmamba-solver needs libmambapy
    head = ("# Written by mambaboot for the conda and mamba inside this environment only;\n"
            "# mambaboot itself never reads it. Edit freely.\n")
    return head + json.dumps(config, indent=2) + "\n"


def prepare(prefix: Path, records: Sequence[Mapping[str, Any]], specs: Sequence[str],
            channels: Sequence[str], *, command: str, version: str) -> None:
    """History, readable records and .condarc for a freshly installed prefix."""
    write_history(prefix, records, specs, command, version)
    readable_records(prefix)
    names = {str(r.get("name")) for r in records}
    condarc = prefix / CONDARC
    if not condarc.exists() and not condarc.is_symlink():
        condarc.write_text(condarc_text(channels, prefix / "pkgs",
                                        rattler_solver="conda-rattler-solver" in names),
                           encoding="utf-8")
