"""Hand-made prefixes under an awkward root, and a clean environment to run shells in."""

from __future__ import annotations

import json
import os
from pathlib import Path

#: Spaces, non-ASCII, and characters cmd.exe and POSIX shells treat specially.
AWKWARD_ROOT = "r&d (x86) o'k $HOME èрт 中"

ACTIVATE_D = {
    "sh": 'export DEMO_ACTIVATED=1\nexport DEMO_HOME="$CONDA_PREFIX/share/demo"\n',
    "fish": 'set -gx DEMO_ACTIVATED 1\nset -gx DEMO_HOME "$CONDA_PREFIX/share/demo"\n',
    "bat": '@SET "DEMO_ACTIVATED=1"\r\n@SET "DEMO_HOME=%CONDA_PREFIX%\\share\\demo"\r\n',
}
DEACTIVATE_D = {
    "sh": "unset DEMO_ACTIVATED\nunset DEMO_HOME\n",
    "fish": "set -e DEMO_ACTIVATED\nset -e DEMO_HOME\n",
    "bat": '@SET "DEMO_ACTIVATED="\r\n@SET "DEMO_HOME="\r\n',
}


def clean_environ(home: Path) -> dict[str, str]:
    """The test process's environment without anything that means 'already active'."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CONDA", "MAMBA", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), ZDOTDIR=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    return env


def make_prefix(path: Path, name: str = "demo") -> Path:
    """A minimal but real-looking prefix with activate.d/deactivate.d scripts."""
    for sub in ("bin", "condabin", "conda-meta", ".mambaboot", "share/demo"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    (path / ".mambaboot" / "env.json").write_text(json.dumps({"name": name}), encoding="utf-8")
    for folder, scripts in (("activate.d", ACTIVATE_D), ("deactivate.d", DEACTIVATE_D)):
        (path / "etc" / "conda" / folder).mkdir(parents=True, exist_ok=True)
        for suffix, text in scripts.items():
            (path / "etc" / "conda" / folder / f"demo.{suffix}").write_bytes(text.encode())
    tool = path / "bin" / "demo-tool"
    tool.write_text("#!/bin/sh\necho demo-tool from the env\n", encoding="utf-8")
    tool.chmod(0o755)
    return path


def processes_with(token: str, wait: float = 3.0) -> list[int]:
    """PIDs of live processes whose command line or environment contains ``token`` (/proc).

    The environment catches every descendant (a ``sleep`` started by a script
    that exported the token), the command line what cleared its environment.
    Polls up to ``wait`` seconds, because a killed process may need a moment to
    disappear; zombies (empty command line and environment) do not count.
    """
    import time

    deadline = time.monotonic() + wait
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                seen = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
            except OSError:
                continue
            if token.encode() in seen:
                found.append(int(entry.name))
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
