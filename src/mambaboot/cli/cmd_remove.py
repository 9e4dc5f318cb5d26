"""``mambaboot remove ENV [--yes] [--dry-run]``."""

from __future__ import annotations

import argparse
import sys

from mambaboot.cli.output import print_json
from mambaboot.cli.parser import common_options
from mambaboot.errors import UsageError
from mambaboot.locations import resolve_env, resolve_root
from mambaboot.remove import remove_env


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "remove", help="delete an environment (never the shared cache)",
        description="Delete exactly what create made: never the shared package cache, never "
                    "through a link, never across a mount point; refuses a folder mambaboot "
                    "did not make. Asks first unless --yes; --dry-run only lists.")
    p.add_argument("env", metavar="ENV", help="environment name under the root, or a path")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--dry-run", action="store_true", help="only show what would be removed")
    common_options(p)


def run(args: argparse.Namespace) -> int:
    path = resolve_env(args.env, resolve_root(args.root))
    plan = remove_env(path, dry_run=True)
    if args.dry_run:
        if args.json:
            print_json(plan.to_json())
        else:
            print(f"Would remove {plan.prefix} ({len(plan.entries)} entries: "
                  f"{', '.join(plan.entries)}); the package cache is kept.")
        return 0
    if not args.yes:
        if sys.stdin is None or sys.stdin.closed or not sys.stdin.isatty():
            raise UsageError(f"Refusing to remove {plan.prefix} without confirmation; "
                             "pass --yes (or --dry-run to see what would go).")
        try:
            answer = input(f"Remove {plan.prefix}? [y/N] ").strip().lower()
        except EOFError:  # Ctrl-D at the prompt: that is a no
            answer = ""
            print()
        if answer not in ("y", "yes"):
            print("Nothing removed.")
            return 1
    from mambaboot.cli.progress import ProgressView

    with ProgressView(enabled=not (args.json or args.quiet), verbose=args.verbose) as view:
        result = remove_env(path, progress=view if view.active else None)
    if args.json:
        print_json(result.to_json())
    elif not args.quiet:
        print(f"Removed {result.prefix}")
    return 0
