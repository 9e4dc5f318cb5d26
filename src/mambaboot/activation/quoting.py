"""Words in the scripts we write and the shells we start, quoted for sh and fish.

(A path printed in a message for the user's own shell is ``platforms.for_shell``.)
"""

from __future__ import annotations


def sh_quote(text: str) -> str:
    """Always single-quoted for sh, bash and zsh.

    Inside, nothing is special; a quote ends, is escaped and reopens. The scripts
    we write and the shells we start use it, so every path reads the same.
    """
    return "'" + text.replace("'", "'\\''") + "'"


def fish_quote(text: str) -> str:
    """Single-quoted for fish, where backslash and quote are escaped inside the quotes."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
