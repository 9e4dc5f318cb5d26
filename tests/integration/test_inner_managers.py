"""The seed's step 2: the real conda and mamba inside an environment manage it.

Bootstrap once with mambaboot, then use the environment's own conda and mamba
(through ``run``, ``shell`` and ``activate.sh``), with the environment's own
configuration (no ``-c``), and check that mambaboot keeps up: verify sees the
drift, lock refreshes it, remove leaves the shared cache intact, and nothing
is written outside the prefix and the cache.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mambaboot.devchannel import CONDA_VERSION
from tests.support.sandbox import Sandbox, snapshot


@pytest.fixture
def env(sandbox: Sandbox, demo_channel: Path) -> Path:
    created = sandbox.run("create", "seed", "-c", str(demo_channel), check=True)
    assert "Created" in created.stdout
    prefix = sandbox.root / "seed"
    version = sandbox.run("run", "seed", "--", "conda", "--version", check=True).stdout
    if CONDA_VERSION not in version:
        pytest.skip("the demo channel carries the conda stand-in (no ../shared material)")
    return prefix


def conda_names(sandbox: Sandbox) -> set[str]:
    listed = sandbox.run("run", "seed", "--", "conda", "list", "--json", check=True).stdout
    return {p["name"] for p in json.loads(listed)}


def test_conda_and_mamba_inside_manage_the_env_and_mambaboot_keeps_up(
        sandbox: Sandbox, env: Path) -> None:
    home_before = snapshot(sandbox.user_dirs)
    cache = sandbox.root / ".cache" / "pkgs"

    # mamba and conda install from the environment's own channels (its .condarc)
    sandbox.run("run", "seed", "--", "mamba", "install", "-y", "demo-tool", check=True)
    sandbox.run("run", "seed", "--", "conda", "install", "-y", "demo-noarch", check=True)
    assert {"demo-tool", "demo-noarch", "python", "conda", "mamba"} <= conda_names(sandbox)
    ran = sandbox.run("run", "seed", "--", "demo-tool", check=True).stdout
    assert "demo-tool 1.0" in ran

    # removing one package keeps python and the rest (the history says what was asked for)
    sandbox.run("run", "seed", "--", "conda", "remove", "-y", "demo-tool", check=True)
    names = conda_names(sandbox)
    assert "demo-tool" not in names and {"python", "conda", "mamba", "demo-noarch"} <= names
    assert (env / "bin" / "python").exists()
    exported = sandbox.run("run", "seed", "--", "conda", "env", "export", "--from-history",
                           check=True).stdout
    for requested in ("python", "conda", "mamba", "demo-noarch"):
        assert f"- {requested}" in exported, exported

    # mambaboot sees the change, and the lock catches up with it
    drift = sandbox.run("verify", "seed")
    assert drift.returncode == 1 and "not in the lockfile: demo-noarch" in drift.stdout
    assert "record it with 'mambaboot lock seed'" in drift.stdout  # not "recreate it"
    sandbox.run("lock", "seed", check=True)
    assert sandbox.run("verify", "seed").returncode == 0

    # through 'shell' (commands piped in) and a sourced activate.sh too
    shelled = sandbox.run("shell", "seed", "--shell", "bash", input="mamba --version\nexit\n")
    assert "2.3.3" in shelled.stdout, shelled.stderr
    sourced = subprocess.run(["bash", "-c", '. "$1/activate.sh" && conda --version', "bash",
                              str(env)], env=sandbox.env, capture_output=True, text=True,
                             check=True, timeout=300)
    assert CONDA_VERSION in sourced.stdout

    # nothing outside the prefix and the cache; conda 25.9 touches an empty
    # ~/.conda/environments.txt even with register_envs: false (its own bug):
    # it is the one exception, and it never lists the environment
    registry = Path(sandbox.env["HOME"]) / ".conda" / "environments.txt"
    allowed = {"home/.conda", "home/.conda/environments.txt"}
    assert snapshot(sandbox.user_dirs) - home_before <= allowed
    assert not registry.exists() or registry.read_text().strip() == ""

    # remove leaves the shared cache intact for the next environment
    entries = sorted(p.name for p in cache.iterdir())
    sandbox.run("remove", "seed", "--yes", check=True)
    assert not env.exists()
    assert sorted(p.name for p in cache.iterdir()) == entries


def test_conda_clean_inside_one_env_spares_what_others_are_built_from(
        sandbox: Sandbox, env: Path) -> None:
    """The cache entries carry repodata_record.json: conda reuses them, never re-extracts."""
    before = {p.name: p.stat().st_ino for p in (sandbox.root / ".cache" / "pkgs").iterdir()
              if p.is_dir() and not p.name.startswith(".")}
    sandbox.run("run", "seed", "--", "conda", "install", "-y", "demo-tool", check=True)
    after = {p.name: p.stat().st_ino for p in (sandbox.root / ".cache" / "pkgs").iterdir()
             if p.is_dir() and not p.name.startswith(".")}
    assert {k: after[k] for k in before} == before  # nothing replaced or re-extracted
    # and the lock of the changed env still rebuilds offline from the shared cache
    sandbox.run("lock", "seed", check=True)
    sandbox.run("create", "second", "--from-lock", str(env / ".mambaboot" / "lock.yml"),
                "--offline", check=True)
    assert "demo-tool" in conda_names_of(sandbox, "second")
    # 'conda clean --all' in one env keeps what the other is hard-linked to
    sandbox.run("run", "seed", "--", "conda", "clean", "--all", "-y", check=True)
    assert sandbox.run("verify", "second").returncode == 0
    sandbox.run("create", "third", "--from-lock", str(env / ".mambaboot" / "lock.yml"),
                "--offline", check=True)


def conda_names_of(sandbox: Sandbox, name: str) -> set[str]:
    meta = sandbox.root / name / "conda-meta"
    return {json.loads(p.read_text())["name"] for p in meta.glob("*.json")}
