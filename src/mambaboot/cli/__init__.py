"""The command line: the only place that prints or exits.

``main`` parses, calls one command module, and maps errors to exit codes.
Imports are lazy per command so that ``mambaboot run`` (the hot path) loads
neither rich nor the engine.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["run"]:
        # The hot path: no argparse, no rich, no engine (see cmd_run.fast_main).
        from mambaboot.cli.cmd_run import fast_main

        code = fast_main(args_list[1:])
        if code is not None:
            return code
    from mambaboot.cli.parser import build_parser, command_module

    parser = build_parser(args_list[0] if args_list and not args_list[0].startswith("-")
                          else None)
    args = parser.parse_args(args_list)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    verbose = getattr(args, "verbose", False)
    try:
        return int(command_module(args.command).run(args) or 0)
    except KeyboardInterrupt:
        print("mambaboot: interrupted; nothing half-made was left behind.", file=sys.stderr)
        return 130
    except Exception as exc:
        from mambaboot.cli.output import report_error

        return report_error(exc, verbose=verbose, as_json=getattr(args, "json", False))
