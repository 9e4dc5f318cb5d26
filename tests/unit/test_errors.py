"""errors: every error class in one module, rebuilt by name across the worker boundary."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mambaboot import errors
from mambaboot.errors import (
    ChecksumError,
    CommandNotFoundError,
    HashMismatchError,
    LockFormatError,
    MambabootError,
    UnsafePackageError,
    UsageError,
    from_json,
)

SRC = Path(errors.__file__).parent


def wire(exc: MambabootError) -> MambabootError:
    """Through JSON text, as the worker protocol carries it."""
    return from_json(json.loads(json.dumps(exc.to_json())))


@pytest.mark.parametrize("cls", [UnsafePackageError, HashMismatchError, ChecksumError,
                                 LockFormatError, CommandNotFoundError, MambabootError])
def test_every_class_comes_back_as_itself(cls: type[MambabootError]) -> None:
    back = wire(cls("Refused the package x; remove it.", details="line 1\nline 2"))
    assert type(back) is cls
    assert back.message == str(back) == "Refused the package x; remove it."
    assert back.details == "line 1\nline 2"
    assert back.exit_code == cls.exit_code


def test_own_fields_travel_and_odd_ones_are_dropped() -> None:
    exc = HashMismatchError("bad bytes", details=None)
    exc.package = "tool"  # type: ignore[attr-defined]
    exc.sizes = [1, 2]  # type: ignore[attr-defined]
    exc.handle = object()  # type: ignore[attr-defined]  # cannot cross a pipe
    back = wire(exc)
    assert (back.package, back.sizes) == ("tool", [1, 2])  # type: ignore[attr-defined]
    assert not hasattr(back, "handle")
    assert back.details is None


def test_an_unknown_name_is_a_plain_error_with_the_same_exit_code() -> None:
    back = from_json({"error": "FutureError", "exit_code": 2, "message": "m", "details": "d"})
    assert type(back) is MambabootError
    assert (back.exit_code, back.message, back.details) == (2, "m", "d")
    # a name that exists elsewhere (builtins, other modules) is never looked up
    for name in ("SystemExit", "KeyboardInterrupt", "Path", "os", "__builtins__", "from_json"):
        assert type(from_json({"error": name, "message": "m"})) is MambabootError


def test_a_malformed_message_still_gives_an_error() -> None:
    back = from_json({"error": "UsageError", "fields": {"__class__": 1, "message": "x",
                                                        "not an id": 2, "_p": 3}})
    assert type(back) is UsageError and back.exit_code == 2
    assert not hasattr(back, "not an id") and not hasattr(back, "_p")


def test_every_error_class_is_defined_in_errors_py() -> None:
    """No module but errors.py defines an exception a user can see."""
    found = []
    for path in SRC.rglob("*.py"):
        if "devchannel" in path.parts:  # the test-channel builder, not the product
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and path.name != "errors.py" \
                    and not node.name.startswith("_") and any(
                        getattr(b, "id", getattr(b, "attr", "")).endswith(("Error", "Exception"))
                        for b in node.bases):
                found.append(f"{path.relative_to(SRC)}: {node.name}")
    assert found == []


def test_errors_is_cheap_and_standard_library_only() -> None:
    code = ("import sys, json; before = set(sys.modules); import mambaboot.errors; "
            "print(json.dumps(sorted(set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = set(json.loads(out))
    ours = {m for m in loaded if m.split(".")[0] == "mambaboot"}
    assert ours <= {"mambaboot", "mambaboot.errors"}
    assert {m.split(".")[0] for m in loaded - ours} <= set(sys.stdlib_module_names)
