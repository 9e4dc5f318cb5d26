"""The micromamba STAND-IN used by the engine tests (see standin.py), and how to serve it.

``write_standin`` makes the script executable with this interpreter in its
shebang; ``release_tree`` lays out a directory like the release mirror
(``{version}/micromamba-{subdir}`` + ``.sha256``) so tests exercise the real
fetch path by pointing ``MAMBABOOT_MICROMAMBA_URL`` at a 127.0.0.1 server.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).with_name("standin.py")
CALLS = "standin-calls.jsonl"
#: A real micromamba binary to test with as well (the stand-in cases always run).
REAL_VAR = "MAMBABOOT_TEST_MICROMAMBA"


def standin_bytes() -> bytes:
    return SOURCE.read_text(encoding="utf-8").replace("@PYTHON@", sys.executable).encode()


def write_standin(dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(standin_bytes())
    dest.chmod(0o755)
    return dest


def release_tree(base: Path, version: str, subdir: str, binary: bytes) -> Path:
    """``base/{version}/micromamba-{subdir}`` and its bare-hex ``.sha256``; return the asset."""
    asset = base / version / f"micromamba-{subdir}"
    asset.parent.mkdir(parents=True, exist_ok=True)
    asset.write_bytes(binary)
    asset.chmod(0o755)
    asset.with_name(asset.name + ".sha256").write_text(hashlib.sha256(binary).hexdigest() + "\n")
    return asset


def read_calls(binary: Path) -> list[dict[str, Any]]:
    path = binary.with_name(CALLS)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def shared_micromamba() -> str | None:
    """The real micromamba: $MAMBABOOT_TEST_MICROMAMBA, or the one built for these
    machines in ../shared next to the checkout."""
    if os.environ.get(REAL_VAR):
        return os.environ[REAL_VAR]
    from mambaboot.devchannel.realpkgs import candidates
    from mambaboot.engines.micromamba.binary import current_subdir

    for root in candidates():
        found = sorted((root / "micromamba").glob(f"*/{current_subdir()}/micromamba"))
        if found:
            return str(found[-1])
    return None
