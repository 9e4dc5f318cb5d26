"""The README's "Python API" example runs as written, against the demo channel."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def python_api_example() -> str:
    section = README.read_text(encoding="utf-8").split("\n## Python API\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    [code] = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return code


def test_the_example_creates_runs_verifies_and_removes(
        tmp_path: Path, demo_channel: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEMO_CHANNEL", str(demo_channel))
    exec(compile(python_api_example(), str(README), "exec"), {"__name__": "readme"})  # noqa: S102
    out = capfd.readouterr().out.splitlines()
    prefix = tmp_path / "envs" / "demo"
    assert out[0].startswith(f"{prefix}: ") and " packages, Python 3." in out[0]
    assert out[1] == str(prefix)  # sys.prefix, printed by the environment's python
    assert not prefix.exists() and (tmp_path / "envs" / ".cache" / "pkgs").is_dir()
