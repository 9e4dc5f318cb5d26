"""``mambaboot lock ENV [--format rattler|explicit|environment-yml] [-o FILE]``."""

from __future__ import annotations

import argparse

from mambaboot.cli.parser import common_options

#: lockfile.FORMATS, repeated so that --help stays light (a test keeps the two equal)
FORMATS = ("rattler", "explicit", "environment-yml")


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser("lock", help="refresh the lockfile from conda-meta; export it",
                        description="Rewrite ENV/.mambaboot/lock.yml from what is installed now "
                                    "(after conda/mamba changed the env) and optionally export.")
    p.add_argument("env", metavar="ENV", help="environment name under the root, or a path")
    p.add_argument("--format", choices=FORMATS, default="rattler",
                   help="rattler (lock.yml, default), explicit (@EXPLICIT with sha256) or "
                        "environment-yml (requested specs)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the export here (default: "
                   "stdout for explicit/environment-yml)")
    common_options(p)


def run(args: argparse.Namespace) -> int:
    from mambaboot import api
    from mambaboot.cli.render import render

    result = api.lock(env=args.env, root=args.root, format=args.format, output=args.output)
    return render("lock", result, as_json=args.json, quiet=args.quiet)
