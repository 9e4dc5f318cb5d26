"""The command line: the only place that prints or exits.

``main`` parses, calls one command module, and maps errors to exit codes.
Imports are lazy per command so that ``mambaboot run`` (the hot path) loads
neither rich nor the engine. Ctrl-C is caught around *everything*, imports
included: an interrupt while the CLI starts up is one line and exit 130, never
a traceback.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # `run` starts here: no typing, no contextlib on its path
if TYPE_CHECKING:
    from collections.abc import Sequence

INTERRUPTED = 130
TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process SIGTERM ended
INTERRUPTED_MESSAGE = ("mambaboot: interrupted; a half-made environment is removed, or marked "
                       "incomplete for the next create or 'mambaboot remove'.")


class Terminated(KeyboardInterrupt):
    """SIGTERM (a service manager, ``kill``, a CI timeout): cleaned up as Ctrl-C is."""


def _terminate(_signum: int, _frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; Ctrl-C at any point (start-up included) exits 130 quietly,
    SIGTERM 143 after the same clean-up."""
    try:
        return _main(argv)
    except KeyboardInterrupt as exc:
        return _interrupted(terminated=isinstance(exc, Terminated))
    except BrokenPipeError:
        # stdout closed early (``mambaboot list | head -1``): not an error worth a
        # message; point stdout at devnull so the interpreter's final flush is quiet
        import contextlib

        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _interrupted(command: str | None = None, as_json: bool = False,
                 terminated: bool = False) -> int:
    import contextlib

    with contextlib.suppress(KeyboardInterrupt, OSError):  # a second Ctrl-C: still quiet
        if as_json:  # stdout stays one document, even now
            from mambaboot.cli.render import interrupted, print_json

            print_json(interrupted(command, INTERRUPTED_MESSAGE.removeprefix("mambaboot: ")))
        print(INTERRUPTED_MESSAGE, file=sys.stderr)
    return TERMINATED if terminated else INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["create"] and not {"-h", "--help"} & set(args_list):
        # the engine worker starts now: its `import rattler` overlaps ours (child.prestart)
        from mambaboot.child import prestart
        from mambaboot.engines.rattler import WORKER

        prestart(WORKER)
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (cmd_completion)
        from mambaboot.cli.cmd_completion import complete
        from mambaboot.cli.parser import build_parser

        complete(build_parser())
    if args_list[:1] == ["run"]:
        # The hot path: no argparse, no rich, no engine (see cmd_run.fast_main).
        from mambaboot.cli.cmd_run import fast_main

        code = fast_main(args_list[1:])
        if code is not None:
            return code
    import signal

    # Past `run`'s hand-over: a SIGTERM now unwinds like Ctrl-C (the half-made prefix,
    # the worker and its unpackers are cleaned up) instead of ending the process mid-step.
    signal.signal(signal.SIGTERM, _terminate)
    from mambaboot.testhooks import hook

    hook("startup")  # lets the tests deliver Ctrl-C while the CLI is still starting
    from mambaboot.cli.parser import COMMANDS, Parser, build_parser, command_module
    from mambaboot.errors import MambabootError

    if "mambaboot.cli.render" in sys.modules:  # main() called again in one process
        sys.modules["mambaboot.cli.render"].reset()
    named = args_list[0] if args_list and not args_list[0].startswith("-") else None
    Parser.command = named if named in COMMANDS else None
    Parser.as_json = "--json" in args_list[: args_list.index("--")] if "--" in args_list \
        else "--json" in args_list
    try:
        parser = build_parser(named)
    except MambabootError as exc:  # a command that cannot load: loud, one sentence
        from mambaboot.cli.render import report_error

        return report_error(exc, command=Parser.command, verbose="-v" in args_list,
                            as_json=Parser.as_json)
    args = parser.parse_args(args_list)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    verbose = getattr(args, "verbose", False)
    try:
        from mambaboot.locations import refuse_empty_options

        refuse_empty_options(getattr(args, "root", None), getattr(args, "cache", None))
        return int(command_module(args.command).run(args) or 0)
    except KeyboardInterrupt as exc:
        return _interrupted(args.command, getattr(args, "json", False),
                            terminated=isinstance(exc, Terminated))
    except BrokenPipeError:
        raise  # a reader that went away: main() ends quietly
    except Exception as exc:
        from mambaboot.cli.render import report_error

        return report_error(exc, command=args.command, verbose=verbose,
                            as_json=getattr(args, "json", False))
