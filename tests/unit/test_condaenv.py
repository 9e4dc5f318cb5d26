"""What the conda and mamba inside an environment need from the create (issue 12), in-process.

The same through a real ``create``: tests/integration/test_condaenv.py.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mambaboot.condaenv import channel_name, condarc_text, history_text
from mambaboot.verify.checks import file_checks


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
