"""Printing: text for people on a terminal, one JSON document for scripts."""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any

from mambaboot.errors import MambabootError


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def report_error(exc: BaseException, *, verbose: bool, as_json: bool) -> int:
    """One sentence on stderr (the traceback only with -v); return the exit code."""
    if isinstance(exc, MambabootError):
        code, message, details = exc.exit_code, exc.message, exc.details
    else:
        code, details = 1, None
        message = (f"Unexpected error ({type(exc).__name__}: {exc}); "
                   "run again with -v and report it.")
    if verbose:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    if as_json:
        print_json({"ok": False, "error": message, "details": details, "exit_code": code})
    sys.stderr.write(f"mambaboot: {message}\n")
    if details:
        for line in details.splitlines():
            sys.stderr.write(f"    {line}\n")
    return code


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)
