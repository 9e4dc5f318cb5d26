"""``mambaboot shell ENV [--shell NAME]``."""

from __future__ import annotations

import argparse
import sys

from mambaboot.activation.shell import SHELLS
from mambaboot.cli.parser import common_options
from mambaboot.locations import resolve_env, resolve_root


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "shell", help="start a child shell with an environment active",
        description="Start a fresh child shell with ENV active; 'exit' returns to this one, "
                    "unchanged. Refuses to run inside an active environment.")
    p.add_argument("env", metavar="ENV", help="environment name under the root, or a path")
    p.add_argument("--shell", choices=SHELLS, help="shell to start (default: the current one)")
    p.add_argument("--rc", action="store_true",
                   help="also read the shell's own startup files (.bashrc, .zshrc, fish "
                        "config, PowerShell profile); cmd.exe AutoRun is never run")
    common_options(p)


def run(args: argparse.Namespace) -> int:
    from mambaboot.activation import shell

    prefix = resolve_env(args.env, resolve_root(args.root))

    def announce(path: object) -> None:
        if not args.quiet:
            sys.stderr.write(f"mambaboot: entering {path} ('exit' to leave)\n")
            sys.stderr.flush()

    return shell.start(prefix, args.shell, rc=args.rc, announce=announce)
