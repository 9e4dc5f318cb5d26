"""What the conda and mamba inside an environment need, checked on a real ``create`` (issue 12)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.support.sandbox import Sandbox


def test_a_new_env_has_what_the_inner_conda_needs(sandbox: Sandbox, demo_channel: Path) -> None:
    sandbox.run("create", "c", "--no-managers", "--with", "demo-tool", "-c", str(demo_channel),
                check=True)
    prefix = sandbox.root / "c"
    history = (prefix / "conda-meta" / "history").read_text()
    assert history.startswith("==> ") and "# cmd: mambaboot create c" in history
    assert "::demo-tool-1.0-h0_0" in history
    assert "# update specs: ['python', 'pip', 'demo-tool']" in history  # --with too
    for record in (prefix / "conda-meta").glob("*.json"):
        assert stat.S_IMODE(record.stat().st_mode) & 0o044 == 0o044, record  # others can read
    condarc = (prefix / ".condarc").read_text()
    assert demo_channel.as_uri() in condarc and '"register_envs": false' in condarc
    pkgs = sandbox.root / ".cache" / "pkgs"
    urls = (pkgs / "urls.txt").read_text().splitlines()
    for folder in pkgs.glob("demo-tool-*/"):
        record = json.loads((folder / "info" / "repodata_record.json").read_text())
        assert record["url"] in urls and record["fn"].startswith("demo-tool-1.0")
    assert sandbox.run("verify", "c").returncode == 0


def test_list_shows_an_env_without_python_as_broken(sandbox: Sandbox, demo_channel: Path) -> None:
    sandbox.run("create", "b", "--no-managers", "-c", str(demo_channel), check=True)
    for name in ("python", "python3"):
        (sandbox.root / "b" / "bin" / name).unlink(missing_ok=True)
    listed = json.loads(sandbox.run("list", "--json", check=True).stdout)["result"]
    [entry] = [e for e in listed["environments"] if e["name"] == "b"]
    assert entry["status"] == "broken"
