"""Entry points whose ``#!`` line the kernel cannot run: rewritten as conda does.

The kernel splits a ``#!`` line at the first space and gives up on lines longer
than 127 bytes (older kernels, macOS: 512), so a script installed into
``/home/Jo Smith/envs/x/bin`` fails with "No such file or directory" even
though the interpreter exists. conda (and the embedded engine) then write a
``/bin/sh`` trampoline instead::

    #!/bin/sh
    '''exec' "/home/Jo Smith/envs/x/bin/python3.11" "$0" "$@"
    ' '''

which sh runs as ``exec python script``, and python reads as a string literal.
micromamba 2.3.3 leaves such lines as they are; this module fixes them after a
micromamba create and updates the package's conda-meta record
(``sha256_in_prefix``), so ``verify`` checks the rewritten file, not drift.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from mambaboot.fsutil import write_atomic, write_json

#: The kernel's limit on a #! line (Linux before 5.1: 127 bytes after "#!").
MAX_SHEBANG = 127


def needs_trampoline(first_line: bytes) -> bool:
    """A python #! line the kernel would cut: with a space, or too long."""
    if not first_line.startswith(b"#!"):
        return False
    interpreter = first_line[2:].strip()
    if not interpreter or interpreter.startswith((b"/bin/sh", b"/usr/bin/env")):
        return False
    name = os.path.basename(interpreter.split(b" -", 1)[0])
    if not name.startswith(b"python"):
        return False
    return b" " in interpreter.split(b" -", 1)[0] or len(first_line) > MAX_SHEBANG


def trampoline(data: bytes) -> bytes:
    """``data`` (a script whose first line needs it) with the sh trampoline instead."""
    first, _, rest = data.partition(b"\n")
    line = first[2:].strip()
    interpreter, dash, flags = line.partition(b" -")
    args = (b' "-' + flags.strip() + b'"') if dash else b""
    head = b"#!/bin/sh\n'''exec' \"" + interpreter + b'"' + args + b' "$0" "$@"\n' + b"' '''\n"
    return head + rest


def fix_prefix(prefix: Path) -> list[str]:
    """Rewrite every package script in ``prefix`` that needs it; return their paths."""
    if sys.platform == "win32":  # Windows uses .exe launchers, not #! lines
        return []
    fixed: list[str] = []
    for record_path in sorted((prefix / "conda-meta").glob("*.json")):
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        changed = False
        for entry in (record.get("paths_data") or {}).get("paths", []):
            rel = entry.get("_path", "")
            # scripts run by name live in bin/: opening every file of the prefix
            # (thousands) to read a first line would cost more than the create's checks
            if entry.get("path_type", "hardlink") == "softlink" or not rel.startswith("bin/"):
                continue
            new = _fix_file(prefix / rel)
            if new is not None:
                entry["sha256_in_prefix"] = new
                fixed.append(rel)
                changed = True
        if changed:
            write_json(record_path, record)
    return fixed


def _fix_file(path: Path) -> str | None:
    """Rewrite one script in place (a new inode: never through a cache hard link)."""
    try:
        if path.is_symlink() or not path.is_file():
            return None
        with path.open("rb") as fh:
            first = fh.readline(4096)
        if not needs_trampoline(first):
            return None
        data = trampoline(path.read_bytes())
        mode = path.stat().st_mode
    except OSError:
        return None
    try:
        write_atomic(path, data, mode=mode & 0o7777)
    except OSError:
        return None
    return hashlib.sha256(data).hexdigest()
