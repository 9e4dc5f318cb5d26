"""Start-up costs: ``mambaboot run`` vs the env's python and vs a floor, ``--help``, ``list``.

The floor (issue 15) is the least any Python tool can cost before the command
runs: a console script shaped like the one pip writes for ``mambaboot``
(``import re, sys`` and one function call), run by the same interpreter,
whose function only ``execv``s the command. ``run``'s own work is what it
costs beyond that floor.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from harness import Case, Results, interleave, progress
from workspace import Workspace

LIST_ENVS = 20


def _wall(ws: Workspace, argv: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=ws.env, cwd=ws.base, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return wall


FLOOR_SCRIPT = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from os import execv
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    execv(sys.argv[1], sys.argv[1:])
"""


def floor_script(ws: Workspace) -> Path:
    """The exec-only console script: pip's wrapper shape, run by the tool's interpreter."""
    script = ws.base / "floor-exec"
    script.write_text(FLOOR_SCRIPT.format(python=sys.executable), encoding="utf-8")
    script.chmod(0o755)
    return script


def run_supported(ws: Workspace) -> bool:
    """``mambaboot run`` exists (it was still being built when this harness was written)."""
    proc = ws.cli("run", "--help", check=False)
    return proc.returncode == 0


def prepare(ws: Workspace, demo: Path) -> tuple[str, Path]:
    """The run env (python + conda + mamba) and a root with `LIST_ENVS` small envs."""
    progress("startup: creating the run env and 20 envs for list")
    ws.cli("create", "runenv", "-q", "-c", str(demo), "--cache", str(ws.cache))
    list_root = ws.base / "listroot"
    for i in range(LIST_ENVS):
        ws.cli("create", f"env{i:02d}", "--no-managers", "-q", "-c", str(demo),
               "--root", str(list_root), "--cache", str(ws.cache))
    return "runenv", list_root


def startup(ws: Workspace, demo: Path, reps: int) -> Results:
    env_name, list_root = prepare(ws, demo)
    env_python = str(ws.root / env_name / "bin" / "python")
    tool = ws.mambaboot()
    has_run = run_supported(ws)
    floor = str(floor_script(ws))
    cases: dict[str, Case] = {
        "env_python": lambda _i: {"wall": _wall(ws, [env_python, "-c", "pass"])},
        "floor": lambda _i: {"wall": _wall(ws, [floor, env_python, "-c", "pass"])},
        "tool_python": lambda _i: {"wall": _wall(ws, [sys.executable, "-c", "pass"])},
        "help": lambda _i: {"wall": _wall(ws, [*tool, "--help"])},
        "list": lambda _i: {"wall": _wall(ws, [*tool, "list", "--root", str(list_root)])},
    }
    if has_run:
        cases["run"] = lambda _i: {"wall": _wall(ws, [*tool, "run", env_name, "--", "python",
                                                      "-c", "pass"])}
    else:
        progress("startup: 'mambaboot run' is not available yet; reported as pending")
    return interleave(cases, reps, warmup=2, label="startup")
