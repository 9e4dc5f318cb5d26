"""Progress events: how an operation tells its caller what it is doing.

Its own small module because the engine worker and the unpackers report
progress too, and they must not pay for importing every result class
(``results``: a dozen dataclasses, ~15 ms) on a create's critical path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Receives ``(event, data)`` as an operation goes ("solve-start", "solved",
#: "download-begin", "linked", "verify" ...); the CLI draws them, tests pause on them.
ProgressCallback = Callable[[str, dict[str, Any]], None]


def no_progress(_event: str, _data: dict[str, Any]) -> None:
    """Default for library callers: nothing is printed by the library."""
