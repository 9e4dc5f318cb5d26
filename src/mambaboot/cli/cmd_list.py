"""``mambaboot list``."""

from __future__ import annotations

import argparse

from mambaboot.cli.parser import common_options


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "list", help="list environments under the root",
        description="Name, Python version, package count, size on disk (hard links counted "
                    "once) and status (ok, or incomplete for a failed create) of every "
                    "environment mambaboot made under the root; other folders are not listed.")
    common_options(p)


def run(args: argparse.Namespace) -> int:
    # a missing root is an error (exit 2, as for 'ls'), not "no environments": it is
    # nearly always a mistyped --root or MAMBABOOT_ROOT
    from mambaboot import api
    from mambaboot.cli.render import render

    return render("list", api.list_envs(root=args.root), as_json=args.json, quiet=args.quiet)
