"""Argument parsing. Each command lives in ``cmd_<name>.py`` with ``register`` and ``run``."""

from __future__ import annotations

import argparse
from importlib import import_module
from types import ModuleType
from typing import NoReturn

from mambaboot import __version__
from mambaboot.errors import MambabootError

#: Order shown in --help. Every one must load: a missing dependency is an error, never a
#: command that silently disappears.
COMMANDS = ("create", "shell", "run", "list", "verify", "lock", "bundle", "export", "remove",
            "doctor", "micromamba", "completion")


class Parser(argparse.ArgumentParser):
    """argparse, but bad usage is one line with the fix, exit code 2.

    The help it points at is the named command's (argparse reports unknown
    options from the top-level parser), and with ``--json`` anywhere on the
    command line the error is also one JSON document on stdout.
    """

    #: set by ``main`` before parsing: the command named on the line, and --json
    command: str | None = None
    as_json: bool = False

    def error(self, message: str) -> NoReturn:
        prog = f"mambaboot {Parser.command}" if Parser.command else self.prog
        text = f"{message[:1].upper()}{message[1:]}; see '{prog} --help'."
        from mambaboot.cli.render import report_error
        from mambaboot.errors import UsageError

        raise SystemExit(report_error(UsageError(text), command=Parser.command, verbose=False,
                                      as_json=Parser.as_json))


def command_module(name: str) -> ModuleType:
    return import_module(f"mambaboot.cli.cmd_{name}")


def common_options(sub: argparse.ArgumentParser, *, channels: bool = False) -> None:
    """Options every command understands (DESIGN.md: Common options)."""
    g = sub.add_argument_group("common options")
    g.add_argument("--root", metavar="DIR",
                   help="environments root (default: $MAMBABOOT_ROOT, $PY_ENVS, or the cwd)")
    g.add_argument("--cache", metavar="DIR",
                   help="cache dir (default: $MAMBABOOT_CACHE, $CONDA_PKGS_DIRS, ROOT/.cache)")
    if channels:
        g.add_argument("-c", "--channel", action="append", dest="channels", metavar="URL|PATH",
                       help="channel name, URL or directory (repeatable; default conda-forge)")
        g.add_argument("--engine", default="rattler", metavar="NAME",
                       help="rattler (default, embedded) or micromamba")
    g.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    g.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    g.add_argument("-v", "--verbose", action="store_true", help="show tracebacks and details")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with ``only`` just that command's subparser.

    Registering a command imports its module (and what that imports), so a
    command line that names its command loads only that one: ~45 ms less on
    every ``create``/``list``/``verify``. ``--help`` still lists everything.
    """
    parser = Parser(
        prog="mambaboot",
        description="Sealed conda environments at visible paths: no shell init, no registry "
                    "edits, no rc files.",
    )
    parser.add_argument("--version", action="version", version=f"mambaboot {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in [only] if only in COMMANDS else COMMANDS:
        try:
            module = command_module(name)
        except ModuleNotFoundError as exc:
            from mambaboot.cli.render import missing_module

            raise MambabootError(missing_module(exc.name, name)) from exc
        module.register(subs)
    return parser
