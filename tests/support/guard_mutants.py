# ruff: noqa: E501 - the table holds exact source snippets, one mutant per line
"""Hand-written guard mutations: remove one guard, run the fast unit tests, expect a failure.

Run from the repository root: ``.venv/bin/python -m tests.support.guard_mutants``. Each
mutant is applied to a copy of ``src`` in a temporary folder (the checkout is
never modified) and the fast unit tests of the guarded modules run against it
with that copy first on ``PYTHONPATH``. A stand-in for mutmut until it is run
for real; see docs/security.md for the score and the known survivors.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
MUTANTS = [
  # remove.py
  ("remove.py", 'if same_path(path, home) or same_path(path, Path(path.anchor or "/")):', 'if same_path(path, Path(path.anchor or "/")):'),
  ("remove.py", 'if same_path(path, home) or same_path(path, Path(path.anchor or "/")):', 'if same_path(path, home):'),
  ("remove.py", "    if is_link(path):\n        raise NotAnEnvironmentError(", "    if False:\n        raise NotAnEnvironmentError("),
  ("remove.py", "    if linked is not None:", "    if False:"),
  ("remove.py", 'ACTIVE_ENV_VARS = ("CONDA_PREFIX", "MAMBABOOT_ENV")', 'ACTIVE_ENV_VARS = ("CONDA_PREFIX",)'),
  ("remove.py", 'ACTIVE_ENV_VARS = ("CONDA_PREFIX", "MAMBABOOT_ENV")', 'ACTIVE_ENV_VARS = ("MAMBABOOT_ENV",)'),
  ("remove.py", "require_env(path, allow_incomplete=True)", "require_env(path, allow_incomplete=False)"),
  ("remove.py", "require_env(path, allow_incomplete=True)", "__import__('mambaboot.prefix').prefix.Prefix(path)"),
  ("remove.py", "        _refuse_mounts(prefix.path)  # the plan", "        pass  # the plan"),
  ("remove.py", "        _refuse_mounts(prefix.path)  # under the lock", "        pass  # under the lock"),
  ("remove.py", "    if leftovers:\n        raise MambabootError(", "    if False:\n        raise MambabootError("),
  ("remove.py", "        if is_link(prefix.pkgs_link):\n            unlink_link(prefix.pkgs_link)", "        pass"),
  # fsutil.py
  ("fsutil.py", "                if self._foreign_mount(entry):", "                if False:"),
  ("fsutil.py", "            if entry.stat(follow_symlinks=False).st_dev != self.dev:\n                return True", "            pass"),
  ("fsutil.py", "        return os.path.abspath(entry.path) in self.mounts", "        return False"),
  ("fsutil.py", "    if inside:\n        return Path(inside[0])", "    pass"),
  ("fsutil.py", "                if entry.stat(follow_symlinks=False).st_dev != root_dev:\n                    return Path(entry.path)", "                pass"),
  ("fsutil.py", "            if key in self.keep:\n                continue", "            pass"),
  ("fsutil.py", "            if is_link(path):\n                _remove_file(path, self.trash, leftovers, link=True)", "            if False:\n                pass"),
  # prefix.py
  ("prefix.py", "        if is_link(self.path):\n            return Status.FOREIGN", "        if False:\n            return Status.FOREIGN"),
  ("prefix.py", "        if not os.path.lexists(self.path):", "        if not self.path.exists():"),
  ("prefix.py", "meta_is_ours = self.meta.is_dir() and not is_link(self.meta)", "meta_is_ours = self.meta.is_dir()"),
  ("prefix.py", "if meta_is_ours and _is_plain_file(self.creating_marker):", "if meta_is_ours and self.creating_marker.exists():"),
  ("prefix.py", "if meta_is_ours and _is_plain_file(self.manifest):", "if meta_is_ours and self.manifest.exists():"),
  ("prefix.py", "        if self._made_by_parked_create():\n            return Status.INCOMPLETE", "        pass"),
  ("prefix.py", "        if is_link(parked) or not _is_plain_file(parked / CREATING):", "        if not (parked / CREATING).exists():"),
  ("prefix.py", "        if os.path.lexists(self.meta):\n            return False", "        pass"),
  ("prefix.py", "        if is_link(self.conda_meta) or not _is_plain_file(history):", "        if not history.exists():"),
  ("prefix.py", 'line.startswith("# cmd:") and wanted in line', 'wanted in line'),
  ("prefix.py", 'line.startswith("# cmd:") and wanted in line', 'line.startswith("# cmd:")'),
  ("prefix.py", '                   and "--no-rc --root-prefix " in line', '                   and True'),
  ("prefix.py", "last=(self.creating_marker,)", "last=()"),
  ("prefix.py", "            if not _is_plain_file(self.creating_marker):\n", "            if False:\n"),
  ("prefix.py", "last=(self.parked_meta / CREATING,)", "last=()"),
  # cleanenv.py
  ("activation/cleanenv.py", '"VIRTUAL_ENV",\n               "MAMBABOOT_ENV")', '"VIRTUAL_ENV",\n               )'),
  ("activation/cleanenv.py", 'not (var == "CONDA_SHLVL" and value.strip() == "0")', 'not (value.strip() == "0")'),
  ("activation/cleanenv.py", 'value.strip() == "0"', 'value == "0"'),
  ("activation/cleanenv.py", 'if sys.platform == "win32":', 'if False:'),
  ("activation/cleanenv.py", 'SCRUB_PREFIXES = ("CONDA", "MAMBA", "PYTHON", "VIRTUAL_ENV")', 'SCRUB_PREFIXES = ("CONDA", "MAMBA", "PYTHON")'),
  ("activation/cleanenv.py", "k.upper().startswith", "k.startswith"),
  ("activation/cleanenv.py", "if k in keep or not", "if not"),
  ("activation/cleanenv.py", "    if not found:\n        return", "    if True:\n        return"),
  # integrity.py
  ("verify/integrity.py", "    if stat.S_ISLNK(st.st_mode):\n        # a file", "    if False:\n        # a file"),
  ("verify/integrity.py", "    if not stat.S_ISREG(st.st_mode):\n        return \"modified\", f\"{label} (not a regular file)\", 0", "    pass"),
  ("verify/integrity.py", '    if kind == "softlink":', '    if False:'),
  ("verify/integrity.py", '        return ("ok" if stat.S_ISDIR(st.st_mode) else "modified"), label, 0', '        return "ok", label, 0'),
  ("verify/integrity.py", "    if not stat.S_ISLNK(st.st_mode):\n        return \"modified\", f\"{label} (no longer a symlink)\", 0", "    pass"),
  ("verify/integrity.py", '            return ("ok" if target == shipped else "modified"), label, 0', '            return "ok", label, 0'),
  ("verify/integrity.py", "    if extracted:", "    if False:"),
  ("verify/integrity.py", "    if os.path.commonpath([real, root]) != root or not os.path.isfile(real):", "    if not os.path.isfile(real):"),
  ("verify/integrity.py", '    return ("ok" if actual == expected else "modified"), label, hashed\n\n\ndef check_files', '    return "ok", label, hashed\n\n\ndef check_files'),
  ("verify/integrity.py", "    if size is not None and not rewritten and st.st_size != size:", "    if False:"),
  ("verify/integrity.py", 'rewritten = "sha256_in_prefix" in entry or "prefix_placeholder" in entry', 'rewritten = False'),
  ("verify/integrity.py", 'entry.get("sha256_in_prefix") or entry.get("sha256")', 'entry.get("sha256")'),
  ("verify/integrity.py", '        return "unverified", label, 0  # existence', '        return "ok", label, 0  # existence'),
  ("verify/integrity.py", '        elif state == "modified":\n            drift.modified.append(label)', '        elif False:\n            pass'),
  ("verify/integrity.py", '    except OSError:\n        return "missing", label, 0\n    kind', '    except OSError:\n        return "ok", label, 0\n    kind'),
  ("verify/integrity.py", "        if not url:\n            continue", "        if False:\n            continue"),
  ("verify/integrity.py", "        if installed[name] != locked[name]:", "        if False:"),
]
TESTS = ["tests/unit/test_prefix.py", "tests/unit/test_fsutil.py", "tests/unit/test_remove.py",
         "tests/unit/activation/test_cleanenv.py", "tests/unit/verify/test_integrity.py"]


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="guard-mutants-")) / "src"
    results = []
    for i, (fname, old, new) in enumerate(MUTANTS):
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(SRC, work)
        target = work / "mambaboot" / fname
        text = target.read_text()
        if old not in text:
            results.append((i, fname, "NOT APPLIED", old[:60]))
            print(results[-1], flush=True)
            continue
        target.write_text(text.replace(old, new, 1))
        env = {**os.environ, "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p",
                               "no:cacheprovider", *TESTS],
                              cwd=REPO, env=env, capture_output=True, text=True, check=False)
        results.append((i, fname, "killed" if proc.returncode else "SURVIVED", old.strip()[:70]))
        print(results[-1], flush=True)
    shutil.rmtree(work.parent)
    applied = [r for r in results if r[2] != "NOT APPLIED"]
    killed = sum(r[2] == "killed" for r in applied)
    print(f"{killed}/{len(applied)} applied mutants killed")
    return 0 if killed == len(applied) else 1


if __name__ == "__main__":
    raise SystemExit(main())
