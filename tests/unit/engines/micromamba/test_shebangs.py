"""#! lines the kernel cannot run (a space in the path) become conda's sh trampoline."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from mambaboot.engines.micromamba.shebangs import fix_prefix, needs_trampoline


def test_which_lines_need_it() -> None:
    assert needs_trampoline(b"#!/envs with space/bin/python3.11\n")
    assert needs_trampoline(b"#!/" + b"x" * 130 + b"/bin/python\n")  # too long for the kernel
    assert not needs_trampoline(b"#!/envs/bin/python\n")
    assert not needs_trampoline(b"#!/bin/sh\n")
    assert not needs_trampoline(b"#!/envs with space/bin/perl\n")  # python's trick only
    assert not needs_trampoline(b"print('no shebang')\n")


def test_a_script_in_a_spaced_prefix_runs_and_its_record_agrees(tmp_path: Path) -> None:
    prefix = tmp_path / "envs with space é" / "env"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "conda-meta").mkdir()
    python = prefix / "bin" / "python"
    python.symlink_to(sys.executable)
    script = prefix / "bin" / "tool"
    body = f"#!{python}\nimport sys\nprint('ran', sys.argv[1:])\n".encode()
    script.write_bytes(body)
    script.chmod(0o755)
    plain = prefix / "lib" / "data.txt"  # not in bin/: never opened
    plain.parent.mkdir()
    plain.write_bytes(f"#!{python}\n".encode())
    record = {"name": "tool", "paths_data": {"paths": [
        {"_path": "bin/tool", "path_type": "hardlink",
         "sha256": hashlib.sha256(body).hexdigest()},
        {"_path": "lib/data.txt", "path_type": "hardlink"}]}}
    (prefix / "conda-meta" / "tool-1-0.json").write_text(json.dumps(record))

    assert fix_prefix(prefix) == ["bin/tool"]
    assert script.read_bytes().startswith(b"#!/bin/sh\n'''exec' \"")
    out = subprocess.run([str(script), "a b"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ran ['a b']"
    entry = json.loads((prefix / "conda-meta" / "tool-1-0.json").read_text())[
        "paths_data"]["paths"][0]
    assert entry["sha256_in_prefix"] == hashlib.sha256(script.read_bytes()).hexdigest()
    assert plain.read_bytes() == f"#!{python}\n".encode()
    assert fix_prefix(prefix) == []  # idempotent
