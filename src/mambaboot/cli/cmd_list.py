"""``mambaboot list``."""

from __future__ import annotations

import argparse

from mambaboot.cli.output import console, human_size, print_json
from mambaboot.cli.parser import common_options
from mambaboot.locations import require_root_dir, resolve_root
from mambaboot.prefix import list_envs


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
    result = list_envs(require_root_dir(resolve_root(args.root), must_exist=True))
    if args.json:
        print_json(result.to_json())
        return 0
    if not result.environments:
        print(f"No environments under {result.root}; create one with 'mambaboot create'.")
        return 0
    from rich.table import Table

    table = Table(title=f"Environments under {result.root}", title_justify="left")
    for col in ("name", "python", "packages", "size", "status"):
        table.add_column(col, justify="right" if col in ("packages", "size") else "left")
    for env in result.environments:
        table.add_row(env.name, env.python_version or "-", str(env.package_count),
                      human_size(env.size_bytes), env.status)
    console().print(table)
    return 0
