"""Paths printed inside commands the user may paste: quoted for their shell.

A root like ``envs with space`` or a cache under ``C:\\Users\\Jo & Co`` would
otherwise turn "Enter it with: mambaboot shell PATH" into a command that does
something else when pasted.
"""

from __future__ import annotations

import os

from mambaboot.platforms import IS_WINDOWS

#: Characters after which cmd.exe needs the word in double quotes.
_CMD_SPECIAL = set(' \t&|<>^()%!",;=')


def for_shell(text: str | os.PathLike[str], windows: bool | None = None) -> str:
    """``text`` as one word of a command line in the user's shell (cmd.exe on Windows)."""
    word = os.fspath(text)
    if windows is None:
        windows = IS_WINDOWS
    if windows:
        return f'"{word}"' if any(c in _CMD_SPECIAL for c in word) or not word else word
    import shlex

    return shlex.quote(word)


def sh_quote(text: str) -> str:
    """Always single-quoted for sh, bash and zsh.

    Inside, nothing is special; a quote ends, is escaped and reopens. The scripts
    we write and the shells we start use it, so every path reads the same.
    """
    return "'" + text.replace("'", "'\\''") + "'"


def fish_quote(text: str) -> str:
    """Single-quoted for fish, where backslash and quote are escaped inside the quotes."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
