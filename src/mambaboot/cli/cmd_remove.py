"""``mambaboot remove ENV [--yes] [--dry-run]``."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from mambaboot.cli.parser import common_options
from mambaboot.errors import UsageError


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
    from mambaboot import api
    from mambaboot.cli.render import render

    plan = api.remove(env=args.env, root=args.root, dry_run=True)
    if args.dry_run:
        return render("remove", plan, as_json=args.json, quiet=args.quiet)
    if not args.yes and not _confirmed(plan.prefix):
        # declined: nothing removed, exit 1
        return render("remove", replace(plan, dry_run=False), as_json=args.json,
                      quiet=args.quiet, exit_code=1)
    from mambaboot.cli.progress import ProgressView

    with ProgressView(enabled=not (args.json or args.quiet), verbose=args.verbose) as view:
        result = api.remove(env=plan.prefix, dry_run=False,
                            progress=view if view.active else None)
    return render("remove", result, as_json=args.json, quiet=args.quiet)


def _confirmed(prefix: Path) -> bool:
    """Ask on a terminal; without one, --yes is required."""
    if sys.stdin is None or sys.stdin.closed or not sys.stdin.isatty():
        raise UsageError(f"Refusing to remove {prefix} without confirmation; "
                         "pass --yes (or --dry-run to see what would go).")
    try:
        answer = input(f"Remove {prefix}? [y/N] ").strip().lower()
    except EOFError:  # Ctrl-D at the prompt: that is a no
        answer = ""
        print()
    return answer in ("y", "yes")
