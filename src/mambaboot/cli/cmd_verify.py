"""``mambaboot verify ENV``."""

from __future__ import annotations

import argparse

from mambaboot.cli.parser import common_options


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "verify", help="check an environment's integrity",
        description="Run the environment's python, conda and mamba; hash every installed file "
                    "against conda-meta; compare the packages with the lockfile; list files two "
                    "packages ship. Exit 0 when everything holds, 1 on any drift.")
    p.add_argument("env", metavar="ENV", help="environment name under the root, or a path")
    common_options(p)


def run(args: argparse.Namespace) -> int:
    from mambaboot import api
    from mambaboot.cli.render import render

    return render("verify", api.verify(env=args.env, root=args.root), as_json=args.json,
                  quiet=args.quiet, env=args.env)
