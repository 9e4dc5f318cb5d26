"""``mambaboot verify ENV``."""

from __future__ import annotations

import argparse

from mambaboot.cli.output import print_json
from mambaboot.cli.parser import common_options
from mambaboot.locations import resolve_env, resolve_root
from mambaboot.results import VerifyReport
from mambaboot.verify.checks import verify_env


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
        print("OK" if report.ok else advice(report, args.env))
    return 0 if report.ok else 1


def advice(report: VerifyReport, env: str) -> str:
    """The fix that fits what failed: only the lockfile is behind -> record the change."""
    from mambaboot.activation.quoting import for_shell

    failed = {c.name for c in report.checks if not c.ok}
    if failed == {"lockfile"}:
        return ("The packages changed since the lockfile was written (conda or mamba inside?); "
                f"if that was you, record it with 'mambaboot lock {for_shell(env)}', otherwise "
                "recreate the environment from its lockfile.")
    return ("Problems found; if they are not yours, recreate the environment "
            f"('mambaboot remove {for_shell(env)}', then create it again).")
