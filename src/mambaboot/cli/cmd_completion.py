"""``mambaboot completion bash|zsh|fish|powershell``: print a completion script.

The script is printed, never installed: mambaboot writes no rc file or
profile (that is the point of it). The user decides where it goes, for
example ``eval "$(mambaboot completion bash)"`` in their own ``~/.bashrc``.
Completion itself is argcomplete's: the shell calls ``mambaboot`` with
``_ARGCOMPLETE`` set, and ``cli.main`` answers from the real parser, so the
completions can never disagree with the options.
"""

from __future__ import annotations

import argparse
import sys

SHELLS = ("bash", "zsh", "fish", "powershell")
HOW = {
    "bash": 'eval "$(mambaboot completion bash)"',
    "zsh": 'eval "$(mambaboot completion zsh)"   (after compinit)',
    "fish": "mambaboot completion fish | source",
    "powershell": "mambaboot completion powershell | Out-String | Invoke-Expression",
}


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "completion", help="print a shell completion script (never installs it)",
        description="Print the tab-completion script for SHELL on stdout. Nothing is written: "
                    "to enable it, add the line shown by --help to your own shell startup "
                    "file, or run it in the current shell. " +
                    "; ".join(f"{sh}: {how}" for sh, how in HOW.items()) + ".")
    p.add_argument("shell", choices=SHELLS, metavar="SHELL", help=", ".join(SHELLS))


def run(args: argparse.Namespace) -> int:
    import argcomplete

    sys.stdout.write(argcomplete.shellcode(["mambaboot"], shell=args.shell))
    return 0


def complete(parser: argparse.ArgumentParser) -> None:
    """Answer a completion request (``_ARGCOMPLETE`` is set) and exit."""
    import argcomplete

    for action in _env_arguments(parser):
        # attr-defined: argcomplete's own protocol, an attribute it reads off the Action
        action.completer = environment_names  # type: ignore[attr-defined]
    argcomplete.autocomplete(parser)


def _env_arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _env_arguments(sub)
        elif action.dest == "env":
            found.append(action)
    return found


def environment_names(prefix: str, parsed_args: argparse.Namespace, **_: object) -> list[str]:
    """The environments under the root (as ``list`` resolves it) that start with ``prefix``."""
    from mambaboot.locations import resolve_root

    try:
        root = resolve_root(getattr(parsed_args, "root", None))
        return sorted(entry.name for entry in root.iterdir()
                      if entry.name.startswith(prefix)
                      and (entry / ".mambaboot" / "env.json").is_file())
    except Exception:  # completion must never print an error into the shell
        return []
