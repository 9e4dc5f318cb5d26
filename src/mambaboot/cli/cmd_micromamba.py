"""``mambaboot micromamba fetch|path|verify``: manage the bootstrap binary explicitly.

``create --engine micromamba`` fetches on demand; these exist so the binary
can be prepared while online (then used with ``--offline``), located for
scripts, and re-checked against the digest recorded when it was fetched.
"""

from __future__ import annotations

import argparse
import sys
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mambaboot.cli.parser import common_options
from mambaboot.micromamba_binary import MICROMAMBA_VERSION, SOURCES, SUBDIRS

if TYPE_CHECKING:
    from mambaboot.micromamba_binary import BinaryInfo


def add_binary_options(p: argparse.ArgumentParser) -> None:
    """The options shared with ``create --engine micromamba``."""
    p.add_argument("--micromamba-version", metavar="X.Y.Z-N",
                   help=f"micromamba release to use (default: the pinned {MICROMAMBA_VERSION})")
    p.add_argument("--micromamba-sha256", metavar="HEX",
                   help="expected sha256 of the binary (instead of the published checksum)")
    p.add_argument("--micromamba-source", choices=SOURCES, default=None,
                   help="release (GitHub or MAMBABOOT_MICROMAMBA_URL, default) or channel "
                        "(the micromamba conda package from -c)")


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser("micromamba", help="fetch, locate or verify the micromamba binary",
                        description="Manage the pinned micromamba binary in CACHE/micromamba.")
    p.add_argument("action", choices=("fetch", "path", "verify"),
                   help="fetch: download and verify (cached); path: print where it is; "
                        "verify: re-check its sha256")
    add_binary_options(p)
    p.add_argument("--source", dest="micromamba_source", choices=SOURCES,
                   help="same as --micromamba-source")
    p.add_argument("--offline", action="store_true",
                   help="never download: use the cache (and, for --source channel, the cached "
                        "package)")
    p.add_argument("--platform", metavar="SUBDIR", choices=SUBDIRS,
                   help=f"binary for another machine: one of {', '.join(SUBDIRS)}")
    common_options(p, channels=True)


def run(args: argparse.Namespace) -> int:
    from mambaboot.locations import resolve_cache, resolve_root
    from mambaboot.micromamba_binary import (
        check_subdir,
        check_version,
        current_subdir,
        ensure,
        require_cached,
        verify_cached,
    )
    from mambaboot.spec import DEFAULT_CHANNEL, normalize_channel

    root = resolve_root(args.root)
    cache = resolve_cache(args.cache, root)
    version = check_version(args.micromamba_version or MICROMAMBA_VERSION)
    subdir = check_subdir(args.platform) if args.platform else current_subdir()
    if args.action == "path":
        return _report(args, require_cached(cache, version, subdir), "path")
    if args.action == "verify":
        return _report(args, verify_cached(cache, version, subdir, args.micromamba_sha256),
                       "verify")
    channels = tuple(normalize_channel(c) for c in (args.channels or [DEFAULT_CHANNEL]))
    with DownloadBar(enabled=not (args.json or args.quiet)) as bar:
        info = ensure(cache, version=version, subdir=subdir, pin=args.micromamba_sha256,
                      source=args.micromamba_source or "release", channels=channels,
                      offline=args.offline, progress=bar)
    return _report(args, info, "fetch")


def _report(args: argparse.Namespace, info: BinaryInfo, action: str) -> int:
    from mambaboot.cli.output import print_json

    if args.json:
        print_json({"ok": True, "action": action, **info.to_json()})
        return 0
    if action == "path":
        print(info.path)
        return 0
    if not args.quiet:
        verb = {"fetch": "Fetched" if info.downloaded else "Cached",
                "verify": "Verified"}[action]
        print(f"{verb} micromamba {info.version} ({info.subdir}): {info.path}")
        print(f"  sha256 {info.sha256}")
        print(f"  from {info.source}: {info.url}")
    return 0


class DownloadBar:
    """Progress sink for downloads: a byte bar on a terminal, nothing when piped."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> DownloadBar:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TransferSpeedColumn,
            )

            from mambaboot.cli.output import console

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      DownloadColumn(), TransferSpeedColumn(),
                                      console=console(stderr=True), transient=True)
            self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        if self._progress is None:
            return
        if event == "download-begin":
            self._task = self._progress.add_task(f"Downloading {data.get('what', '')}",
                                                 total=None)
        elif event in ("download-start", "download-progress") and self._task is not None:
            self._progress.update(self._task, total=data.get("total"),
                                  completed=data.get("completed", 0))
        elif event == "download-retry":
            self._progress.console.print(f"retrying in {data['delay']:.1f} s: {data['reason']}")
