"""``mambaboot doctor``: report shell, registry, rc-file and PATH pollution (read-only)."""

from __future__ import annotations

import argparse

from mambaboot.cli.parser import common_options


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "doctor", help="report what would break one-env-per-shell or the clean setup",
        description="Read-only checks: active environment variables, cmd.exe AutoRun, "
                    "conda/mamba initialize blocks in shell profiles, conda/python on PATH, "
                    "and a cache on another filesystem than the root. Exit 0 when clean, "
                    "1 with findings.")
    common_options(p)


def run(args: argparse.Namespace) -> int:
    from mambaboot import api
    from mambaboot.cli.render import render

    return render("doctor", api.doctor(root=args.root, cache=args.cache), as_json=args.json,
                  quiet=args.quiet)
