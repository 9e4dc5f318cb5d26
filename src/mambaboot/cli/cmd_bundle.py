"""``mambaboot bundle ENV OUT``: lockfile + every archive, for air-gapped rebuilds."""

from __future__ import annotations

import argparse

from mambaboot.cli.parser import common_options


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser("bundle", help="write lockfile + package archives to a folder or .tar",
                        description="Write ENV's lockfile and every package archive (each "
                                    "verified against its sha256) into OUT, a new folder or a "
                                    ".tar; rebuild anywhere with 'create --from-bundle OUT'.")
    p.add_argument("env", metavar="ENV", help="environment name under the root, or a path")
    p.add_argument("out", metavar="OUT", help="a new folder, or a file name ending in .tar")
    common_options(p)


def run(args: argparse.Namespace) -> int:
    from mambaboot import api
    from mambaboot.cli.render import render, warnings_only

    result = api.bundle(env=args.env, out=args.out, root=args.root, cache=args.cache,
                        progress=warnings_only)
    return render("bundle", result, as_json=args.json, quiet=args.quiet)
