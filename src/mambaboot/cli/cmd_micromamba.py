"""``mambaboot micromamba fetch|path|verify``: manage the bootstrap binary explicitly.

``create --engine micromamba`` fetches on demand; these exist so the binary
can be prepared while online (then used with ``--offline``), located for
scripts, and re-checked against the digest recorded when it was fetched.
"""

from __future__ import annotations

import argparse

from mambaboot.cli.parser import common_options
from mambaboot.cli.progress import ProgressView
from mambaboot.engines.micromamba.binary import MICROMAMBA_VERSION, SOURCES, SUBDIRS


def add_binary_options(p: argparse.ArgumentParser, *, sources: bool = True) -> None:
    """The options shared with ``create --engine micromamba`` and ``export`` (which pins
    a release, so it has no ``--micromamba-source``)."""
    p.add_argument("--micromamba-version", metavar="X.Y.Z-N",
                   help=f"micromamba release to use (default: the pinned {MICROMAMBA_VERSION})")
    p.add_argument("--micromamba-sha256", metavar="HEX",
                   help="expected sha256 of the binary (instead of the published checksum)")
    if not sources:
        return
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
    from mambaboot.cli.render import render
    from mambaboot.engines.micromamba.binary import (
        check_subdir,
        check_version,
        current_subdir,
        require_cached,
        verify_cached,
    )
    from mambaboot.engines.micromamba.obtain import ensure
    from mambaboot.locations import resolve_cache, resolve_root
    from mambaboot.results import MicromambaResult
    from mambaboot.spec import DEFAULT_CHANNEL, normalize_channel

    root = resolve_root(args.root)
    cache = resolve_cache(args.cache, root)
    version = check_version(args.micromamba_version or MICROMAMBA_VERSION)
    subdir = check_subdir(args.platform) if args.platform else current_subdir()
    if args.action == "path":
        info = require_cached(cache, version, subdir)
    elif args.action == "verify":
        info = verify_cached(cache, version, subdir, args.micromamba_sha256)
    else:
        channels = tuple(normalize_channel(c) for c in (args.channels or [DEFAULT_CHANNEL]))
        with ProgressView(enabled=not (args.json or args.quiet), stages=False) as bar:
            info = ensure(cache, version=version, subdir=subdir, pin=args.micromamba_sha256,
                          source=args.micromamba_source or "release", channels=channels,
                          offline=args.offline, progress=bar)
    return render("micromamba", MicromambaResult(args.action, info), as_json=args.json,
                  quiet=args.quiet)
