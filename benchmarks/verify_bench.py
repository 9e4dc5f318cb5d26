"""``mambaboot verify`` throughput vs ``sha256sum`` over exactly the files verify hashes."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from harness import Results, Sample, interleave
from mambaboot.verify.checks import installed_records
from mambaboot.verify.integrity import Drift, check_files
from workspace import Workspace


def hashed_files(prefix: Path) -> list[Path]:
    """The files verify hashes: regular files with a recorded digest (see integrity.py)."""
    files = []
    for record in installed_records(prefix):
        for entry in (record.get("paths_data") or {}).get("paths", []):
            path = prefix / entry["_path"]
            digest = entry.get("sha256_in_prefix") or entry.get("sha256")
            if digest and entry.get("path_type") != "softlink" and not path.is_symlink() \
                    and path.is_file():
                files.append(path)
    return files


def verify(ws: Workspace, prefix: Path, reps: int) -> tuple[Results, dict[str, int]]:
    files = hashed_files(prefix)
    total = sum(f.stat().st_size for f in files)
    with tempfile.NamedTemporaryFile("wb", dir=ws.scratch, delete=False) as fh:
        fh.write(b"\0".join(os.fsencode(f) for f in files) + b"\0")
        file_list = fh.name
    records = installed_records(prefix)

    def cli(_i: int) -> Sample:
        start = time.perf_counter()
        proc = ws.cli("verify", str(prefix), "--json")
        wall = time.perf_counter() - start
        if not json.loads(proc.stdout).get("ok"):
            raise RuntimeError(f"verify failed: {proc.stdout[-2000:]}")
        return {"wall": wall}

    def sha256sum(_i: int) -> Sample:
        start = time.perf_counter()
        with open(file_list, "rb") as stdin:
            subprocess.run(["xargs", "-0", "sha256sum", "--"], stdin=stdin,
                           stdout=subprocess.DEVNULL, check=True, env=ws.env)
        return {"wall": time.perf_counter() - start}

    def in_process(_i: int) -> Sample:
        drift = Drift()
        start = time.perf_counter()
        check_files(prefix, records, drift)
        wall = time.perf_counter() - start
        if drift.missing or drift.modified:
            raise RuntimeError("drift in a fresh env")
        return {"wall": wall}

    results = interleave({"verify": cli, "sha256sum": sha256sum, "hash_only": in_process},
                         reps, label="verify")
    Path(file_list).unlink()
    return results, {"files": len(files), "bytes": total}
