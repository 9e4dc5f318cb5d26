"""Make the shared package cache reusable by the conda and mamba inside environments.

rattler keeps its own bookkeeping (``NAME-VERSION-BUILD.lock``); conda and mamba
recognise an extracted package by ``info/repodata_record.json`` in its folder
and list known archives in ``pkgs/urls.txt``. Without them the inner conda
downloads every package again, replaces the archive and re-extracts the
folder, so its files are no longer hard links of the older environments' and
a ``conda clean`` in one environment removes what the others were built from.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from mambaboot.fsutil import write_json

URLS_TXT = "urls.txt"


def record_for_conda(pkgs: Path, packages: Iterable[tuple[str, str, str]]) -> None:
    """For each ``(dist, url, record_json)``: write the dist's repodata_record.json (if
    missing) and list ``url`` in urls.txt.

    The record is the package's own ``info/index.json`` overlaid with what the
    channel says (url, fn, channel, hashes, size), as conda writes it: a planned
    record from ``micromamba --dry-run --json`` has ``depends: null``, which
    conda and micromamba would read as "no dependencies". One call per
    transaction: urls.txt is read once, not once per package.
    """
    urls = []
    for dist, url, record_json in packages:
        info = pkgs / dist / "info"
        target = info / "repodata_record.json"
        if not os.path.lexists(target) and info.is_dir():
            merged = _merged(info, record_json)
            with contextlib.suppress(OSError):
                write_json(target, merged)
        urls.append(url)
    add_urls(pkgs, urls)


def _merged(info: Path, record_json: str) -> dict[str, object]:
    try:
        index = json.loads((info / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        index = {}
    record = json.loads(record_json)
    base = index if isinstance(index, dict) else {}
    return {**base, **{k: v for k, v in record.items() if v is not None}}


def add_urls(pkgs: Path, urls: Iterable[str]) -> None:
    """Append the ``urls`` urls.txt lacks (one small O_APPEND write: safe between processes)."""
    path = pkgs / URLS_TXT
    try:
        known = set(path.read_text(encoding="utf-8").splitlines())
    except FileNotFoundError:
        known = set()
    except OSError:
        return
    new = [url for url in dict.fromkeys(urls) if url not in known]
    if not new or path.is_symlink():
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, "".join(url + "\n" for url in new).encode("utf-8"))
        finally:
            os.close(fd)
