"""``mambaboot run ENV -- COMMAND [ARGS...]``.

``fast_main`` parses the few options ``run`` has by hand, because it is on the
hot path: argparse, rich and the engine are never imported. Anything unusual
(``--help``, an unknown option) falls back to the full argparse CLI, which
prints proper usage.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself costs `run` ~3 ms of start-up

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

_VALUE_OPTIONS = ("--root", "--cache")
_FLAGS = ("-v", "--verbose", "-q", "--quiet")


def register(subs: argparse._SubParsersAction) -> None:
    import argparse

    from mambaboot.cli.parser import common_options

    p = subs.add_parser(
        "run", help="run one command inside an environment",
        description="Run COMMAND with the environment applied (PATH, CONDA_PREFIX, activate.d "
                    "effects, measured on first use: each activate.d script may take "
                    "MAMBABOOT_ACTIVATE_TIMEOUT seconds, default 30). Exit code, signals and "
                    "output are the command's own.")
    p.add_argument("env", metavar="ENV", help="environment name under the root, or a path")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]",
                   help="the command and its arguments, after --")
    common_options(p)


def run(args: argparse.Namespace) -> int:
    # argparse hands everything after ENV over as REMAINDER: tool options given
    # between ENV and the command (``run ENV --root R -- cmd``) are still ours.
    given: dict[str, str | bool] = {}
    start = _options(args.argv, 0, given)
    if start is None:
        bad = next((a for a in args.argv if a.startswith("-") and a != "--"
                    and a.partition("=")[0] not in (*_VALUE_OPTIONS, *_FLAGS)), None)
        from mambaboot.errors import UsageError

        if bad is None:  # a value option at the very end
            raise UsageError(f"{args.argv[-1]} needs a value; write it like "
                             f"'mambaboot run ENV {args.argv[-1]} DIR -- COMMAND'.")
        raise UsageError(f"Unknown option {bad} before the command; put the command after "
                         "'--': mambaboot run ENV -- COMMAND [ARGS...].")
    argv = _command(args.argv[start:])
    root = given.get("--root", args.root)
    return _run(args.env, root if isinstance(root, str) else None, argv)


def _run(env: str, root: str | None, argv: list[str]) -> int:
    from mambaboot.activation import run as runner
    from mambaboot.locations import env_dir, root_dir

    return runner.run(env_dir(env, root_dir(root)), argv)


def _options(args: Sequence[str], i: int, given: dict[str, str | bool]) -> int | None:
    """Consume the tool's own options from ``args[i:]``; the index after them.

    None when an option is not one ``run`` knows (``--help``, typos): the full
    parser explains those.
    """
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        opt, eq, value = args[i].partition("=")
        if opt in _VALUE_OPTIONS:
            if not eq:
                if i + 1 >= len(args):
                    return None
                i += 1
                value = args[i]
            given[opt] = value
        elif opt in _FLAGS and not eq:
            given[opt] = True
        else:
            return None
        i += 1
    return i


def _command(rest: Sequence[str]) -> list[str]:
    """The command starts after ``--``, or at the first word that is not an option."""
    return list(rest[1:] if rest[:1] == ["--"] else rest)


def parse_fast(args: Sequence[str]) -> tuple[str, str | None, bool, list[str]] | None:
    """``[options] ENV [options] [--] COMMAND...`` -> (env, root, verbose, argv); None to fall
    back to argparse."""
    given: dict[str, str | bool] = {}
    i = _options(args, 0, given)
    if i is None or i >= len(args) or args[i] == "--":
        return None
    env = args[i]
    j = _options(args, i + 1, given)
    if j is None:
        return None
    root = given.get("--root")
    verbose = "-v" in given or "--verbose" in given
    return env, root if isinstance(root, str) else None, verbose, _command(args[j:])


def fast_main(args: Sequence[str]) -> int | None:
    """Run without argparse; None when the arguments need the full parser."""
    parsed = parse_fast(args)
    if parsed is None:
        return None
    env, root, verbose, argv = parsed
    try:
        return _run(env, root, argv)
    except KeyboardInterrupt:  # e.g. while activate.d scripts are measured
        import sys

        sys.stderr.write("mambaboot: interrupted before the command started; nothing was "
                         "changed.\n")
        return 130
    except Exception as exc:
        from mambaboot.cli.render import report_error

        return report_error(exc, command="run", verbose=verbose, as_json=False)


__all__ = ["fast_main", "parse_fast", "register", "run"]
