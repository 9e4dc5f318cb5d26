"""``mambaboot verify ENV``."""

from __future__ import annotations

import argparse

from mambaboot.cli.output import print_json
from mambaboot.cli.parser import common_options
from mambaboot.locations import resolve_env, resolve_root
from mambaboot.verify import verify_env


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "verify", help="check an environment's integrity",
        description="Run the environment's python, conda and mamba; hash every installed file "
                    "against conda-meta; compare the packages with the lockfile; list files two "
                    "packages ship. Exit 0 when everything holds, 1 on any drift.")
    p.add_argument("env", metavar="ENV", help="environment name under the root, or a path")
    common_options(p)


def run(args: argparse.Namespace) -> int:
    report = verify_env(resolve_env(args.env, resolve_root(args.root)))
    if args.json:
        print_json(report.to_json())
    elif not args.quiet or not report.ok:
        print(f"Verifying {report.prefix}")
        for check in report.checks:
            print(f"  {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
        print("OK" if report.ok else "Problems found; recreate the environment "
              "(mambaboot remove, then create) if they are not yours.")
    return 0 if report.ok else 1
