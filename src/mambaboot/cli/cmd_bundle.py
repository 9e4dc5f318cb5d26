"""``mambaboot bundle ENV OUT``: lockfile + every archive, for air-gapped rebuilds."""

from __future__ import annotations

import argparse
from pathlib import Path

from mambaboot.cli.output import print_json
from mambaboot.cli.parser import common_options
from mambaboot.errors import UsageError
from mambaboot.locations import resolve_cache, resolve_env, resolve_root
from mambaboot.prefix import require_env


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser("bundle", help="write lockfile + package archives to a folder or .tar",
                        description="Write ENV's lockfile and every package archive (each "
                                    "verified against its sha256) into OUT, a new folder or a "
                                    ".tar; rebuild anywhere with 'create --from-bundle OUT'.")
    p.add_argument("env", metavar="ENV", help="environment name under the root, or a path")
    p.add_argument("out", metavar="OUT", help="a new folder, or a file name ending in .tar")
    common_options(p)


def run(args: argparse.Namespace) -> int:
    from mambaboot.bundle import write_bundle

    root = resolve_root(args.root)
    prefix = require_env(resolve_env(args.env, root))
    if not prefix.lockfile.is_file():
        raise UsageError(f"{prefix.path} has no lockfile; run 'mambaboot lock {args.env}' first.")
    out = Path(args.out).expanduser().absolute()
    if out.suffix == ".tar" and out.exists():
        raise UsageError(f"{out} already exists; choose a new name.")
    # The cache the environment was made with (its pkgs link) holds its archives.
    pkgs = (prefix.pkgs_link.resolve() if prefix.pkgs_link.is_symlink() and not args.cache
            else resolve_cache(args.cache, root).pkgs)
    write_bundle(prefix.lockfile, pkgs, out)
    if args.json:
        print_json({"ok": True, "bundle": str(out)})
    elif not args.quiet:
        print(f"Wrote bundle {out}")
        print(f"  rebuild with: mambaboot create NAME --from-bundle {out}")
    return 0
