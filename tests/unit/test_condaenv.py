"""What the conda and mamba inside an environment need from the create (issue 12)."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

from mambaboot.condaenv import channel_name, condarc_text, history_text
from mambaboot.verify.checks import file_checks
from tests.support.sandbox import Sandbox


def test_history_is_in_condas_format() -> None:
    import ast
    import datetime as dt

    records = [{"name": "python", "version": "3.11.7", "build": "0", "subdir": "linux-64",
                "channel": "https://conda.anaconda.org/conda-forge/"},
               {"name": "zlib", "version": "1.3", "build": "h0", "subdir": "linux-64",
                "channel": "file:///srv/chan/"}]
    text = history_text(records, ["python=3.11", "zlib"], "mambaboot create x", "0.1.0",
                        when=dt.datetime(2026, 1, 2, 3, 4, 5))
    lines = text.splitlines()
    assert lines[0] == "==> 2026-01-02 03:04:05 <=="
    assert "+conda-forge/linux-64::python-3.11.7-0" in lines
    assert "+file:///srv/chan/linux-64::zlib-1.3-h0" in lines
    specs = lines[-1].removeprefix("# update specs: ")
    assert ast.literal_eval(specs) == ["python=3.11", "zlib"]  # how conda reads it back


def test_condarc_keeps_conda_out_of_home(tmp_path: Path) -> None:
    config = json.loads("\n".join(line for line in condarc_text(
        ["https://conda.anaconda.org/conda-forge", "file:///srv/c"], tmp_path / "pkgs",
        rattler_solver=True).splitlines() if not line.startswith("#")))
    assert config["channels"] == ["conda-forge", "file:///srv/c"]
    assert config["register_envs"] is False and config["number_channel_notices"] == 0
    assert config["pkgs_dirs"] == [str(tmp_path / "pkgs")] and config["solver"] == "rattler"
    assert channel_name("https://conda.anaconda.org/bioconda/") == "bioconda"


def test_verify_reads_noarch_records_written_by_conda(tmp_path: Path) -> None:
    """conda keeps noarch paths package-relative in paths_data (site-packages/x.py)."""
    prefix = tmp_path / "env"
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True)
    body = b"print('x')\n"
    placed = prefix / "lib" / "python3.11" / "site-packages" / "x.py"
    placed.parent.mkdir(parents=True)
    placed.write_bytes(body)
    (meta / "python-3.11.7-0.json").write_text(json.dumps(
        {"name": "python", "version": "3.11.7", "build": "0", "files": [],
         "paths_data": {"paths": [], "paths_version": 1}}))
    entry = {"_path": "site-packages/x.py", "path_type": "hardlink",
             "sha256": hashlib.sha256(body).hexdigest(), "size_in_bytes": len(body)}
    (meta / "purepy-1.0-py_0.json").write_text(json.dumps(
        {"name": "purepy", "version": "1.0", "build": "py_0", "noarch": "python",
         "files": ["lib/python3.11/site-packages/x.py"],
         "paths_data": {"paths": [entry], "paths_version": 1}}))
    files = next(c for c in file_checks(prefix) if c.name == "files")
    assert files.ok, files.detail
    placed.write_bytes(b"changed\n")
    files = next(c for c in file_checks(prefix) if c.name == "files")
    assert not files.ok and "site-packages/x.py" in files.detail


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
    listed = json.loads(sandbox.run("list", "--json", check=True).stdout)
    [entry] = [e for e in listed["environments"] if e["name"] == "b"]
    assert entry["status"] == "broken"
