"""Does an environment work? Used at the end of every create and by ``verify``.

The smoke test runs the env's own python, conda and mamba with the activation
applied, the way a user would meet them; a prefix that fails it is never
handed over as usable.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from mambaboot.activation import env_delta, fresh
from mambaboot.activation.cleanenv import scrubbed_environ, tool_free
from mambaboot.prefix import Prefix, require_env
from mambaboot.results import Check, VerifyReport
from mambaboot.verify.integrity import Drift, check_files, compare_with_lock, locked_packages

TIMEOUT = 120
#: sys.version's first word is what platform.python_version() returns ("3.13.0rc1"),
#: without importing platform (13 ms of every create's critical path).
_PY_PROBE = "import sys; print(sys.version.split()[0]); print(sys.prefix)"


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=TIMEOUT,
                          check=False, stdin=subprocess.DEVNULL)


def activated_environ(prefix: Prefix, name: str | None = None) -> dict[str, str]:
    activation = fresh.current(prefix.path, name)
    return env_delta.apply(activation, prefix.path, scrubbed_environ(tool_free()))


def same_path(a: str | Path, b: str | Path) -> bool:
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def smoke_checks(prefix: Prefix, name: str | None = None) -> tuple[list[Check], str | None]:
    """Run python (required), conda and mamba (when present); return checks and python version."""
    env = activated_environ(prefix, name)
    checks: list[Check] = []
    python = prefix.python()
    version: str | None = None
    if not python.exists():
        return [Check("python", False, f"{python} does not exist")], None
    try:
        proc = _run([str(python), "-c", _PY_PROBE], env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [Check("python", False, f"could not run {python}: {exc}")], None
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or len(lines) < 2:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        checks.append(Check("python", False, f"exit code {proc.returncode}: {tail}"))
    elif not same_path(lines[1], prefix.path):
        checks.append(Check("python", False, f"sys.prefix is {lines[1]}, not {prefix.path}"))
    else:
        version = lines[0]
        checks.append(Check("python", True, f"Python {version}, sys.prefix matches"))
    for tool in ("conda", "mamba"):
        exe = prefix.executable(tool)
        if exe is None:
            continue
        try:
            proc = _run([str(exe), "--version"], env)
            out = (proc.stdout or proc.stderr).strip().splitlines()
            ok, detail = proc.returncode == 0, (out[-1] if out else "no output")
        except (OSError, subprocess.TimeoutExpired) as exc:
            ok, detail = False, str(exc)
        checks.append(Check(tool, ok, detail if ok else f"'{tool} --version' failed: {detail}"))
    return checks, version


def installed_records(prefix: Path) -> list[dict]:
    records = []
    for meta in sorted((prefix / "conda-meta").glob("*.json")):
        try:
            records.append(json.loads(meta.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            records.append({"name": meta.stem, "_broken": True})
    return records


def record_paths(record: dict) -> list[str]:
    data = record.get("paths_data") or {}
    paths = [p["_path"] for p in data.get("paths", []) if "_path" in p]
    return paths or list(record.get("files", []))


def _listing(items: list[str], what: str) -> str:
    if len(items) == 1 and what.endswith("packages"):
        what = what[:-1]  # "1 missing package"
    head = "; ".join(items[:5])
    more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
    return f"{len(items)} {what}: {head}{more}"


def file_checks(prefix: Path, lockfile: Path | None = None) -> list[Check]:
    """conda-meta readable, every file present and unmodified, packages as locked."""
    records = installed_records(prefix)
    broken = [r["name"] for r in records if r.get("_broken")]
    good = [r for r in records if not r.get("_broken")]
    checks = [Check("conda-meta", not broken,
                    f"{len(records)} package records" if not broken
                    else f"unreadable records: {', '.join(broken)}")]
    drift = Drift()
    check_files(prefix, good, drift)
    problems = [_listing(items, what) for items, what in
                ((drift.missing, "missing"), (drift.modified, "modified")) if items]
    unverified = (f"; {len(drift.unverified)} without a recorded sha256 (existence and size "
                  f"checked only, e.g. {drift.unverified[0]})" if drift.unverified else "")
    checks.append(Check("files", not problems,
                        "; ".join(problems) if problems else
                        f"{drift.files_checked - len(drift.unverified)} files of {len(good)} "
                        f"packages intact ({drift.bytes_hashed / 1e6:.1f} MB hashed){unverified}"))
    if drift.shared:
        # the cache's metadata check (size, mtime) may not see an edit whose mtime was put
        # back: forget that these trees were vetted, so the next create hashes them
        # against paths.json and unpacks a damaged one afresh from its archive
        from mambaboot.packages.vet import forget_vetted

        for tree in sorted(drift.damaged_cache):
            forget_vetted(Path(tree))
        checks.append(Check("shared files", False, (
            f"{len(drift.shared)} damaged file(s) are hard links shared with the package cache or "
            "other environments, which share the damage; recreate this environment "
            "(mambaboot remove, then create: the damaged cache entry is now marked to be checked "
            "again and unpacked afresh) and verify the others")))
    if lockfile is not None and lockfile.is_file():
        try:
            locked = locked_packages(lockfile)
        except (OSError, ValueError, AttributeError) as exc:
            checks.append(Check("lockfile", False, f"cannot read {lockfile}: {exc}"))
            return checks
        compare_with_lock(good, locked, drift)
        problems = [_listing(items, what) for items, what in
                    ((drift.added, "not in the lockfile"), (drift.removed, "missing packages"),
                     (drift.changed, "changed")) if items]
        checks.append(Check("lockfile", not problems, "; ".join(problems) if problems
                            else f"{len(locked)} packages match {lockfile.name}"))
    return checks


def clobber_check(prefix: Prefix) -> list[Check]:
    """Files two packages ship: allowed, as in conda, but always listed (never silent)."""
    try:
        clobbers = prefix.read_manifest().get("clobbers") or []
    except (OSError, ValueError, AttributeError):
        return []
    if not clobbers or not isinstance(clobbers, list):
        return []
    def one(clobber: dict) -> str:
        won = clobber.get("installed") or "?"
        others = ", ".join(p for p in clobber.get("packages", []) if p != won)
        return f"{clobber.get('path')} (installed from {won}, also shipped by {others})"

    shown = "; ".join(one(c) for c in clobbers[:5] if isinstance(c, dict))
    more = f" (+{len(clobbers) - 5} more)" if len(clobbers) > 5 else ""
    return [Check("clobbers", True, f"{len(clobbers)} file(s) shipped by two packages: "
                                    f"{shown}{more}")]


def verify_env(path: Path) -> VerifyReport:
    prefix = require_env(path)
    checks = [Check("manifest", True, str(prefix.manifest)), *clobber_check(prefix)]
    smoke, _ = smoke_checks(prefix)
    checks += smoke
    checks += file_checks(prefix.path, prefix.lockfile)
    checks += pypi_checks(prefix.path)
    return VerifyReport(prefix.path, tuple(checks))


def pypi_checks(prefix: Path) -> list[Check]:
    """The PyPI wheels mambaboot installed: each at its version, each file as its RECORD says."""
    from mambaboot import pypi
    from mambaboot.errors import MambabootError

    try:
        wheels = pypi.recorded(prefix)
    except MambabootError as exc:
        return [Check("pypi", False, str(exc))]
    if not wheels:
        return []
    problems = pypi.check_installed(prefix, wheels)
    return [Check("pypi", not problems,
                  "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)"
                                             if len(problems) > 5 else "") if problems
                  else f"{len(wheels)} PyPI packages intact (every file matches its RECORD hash)")]
