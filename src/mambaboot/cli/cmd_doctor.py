"""``mambaboot doctor``: report shell, registry, rc-file and PATH pollution (read-only)."""

from __future__ import annotations

import argparse

from mambaboot.cli.output import print_json
from mambaboot.cli.parser import common_options
from mambaboot.locations import resolve_cache, resolve_root


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "doctor", help="report what would break one-env-per-shell or the clean setup",
        description="Read-only checks: active environment variables, cmd.exe AutoRun, "
                    "conda/mamba initialize blocks in shell profiles, conda/python on PATH, "
                    "and a cache on another filesystem than the root. Exit 0 when clean, "
                    "1 with findings.")
    common_options(p)


def run(args: argparse.Namespace) -> int:
    from mambaboot.doctor import diagnose

    root = resolve_root(args.root)
    report = diagnose(root, resolve_cache(args.cache, root).pkgs)
    if args.json:
        print_json(report.to_json())
    elif not args.quiet or report.findings:
        if report.ok:
            print("No problems found: no active environment, AutoRun hook, init block, "
                  "stray conda on PATH or cross-filesystem cache.")
        else:
            print(f"{len(report.findings)} problem(s) found:")
            for finding in report.findings:
                print(f"- [{finding.kind}] {finding.where}: {finding.problem}")
                print(f"    fix: {finding.fix}")
    return 0 if report.ok else 1
