"""The lockfile is a session step, written in the rattler worker for every engine.

* a create's lock.yml is exactly what ``mambaboot lock`` writes afterwards
  from conda-meta (one writer, one source: the two cannot disagree);
* ``lock`` and ``bundle`` (CLI and API) never import rattler in the calling
  process: py-rattler's native lock reader and writer run in the worker.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.sandbox import EngineUnderTest, demo_env
from tests.support.scratch import scratch_dir


@pytest.fixture(scope="module")
def made(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         demo_channel: Path) -> tuple[object, Path]:
    return demo_env(scratch_dir(request, tmp_path_factory, "lockstep"), demo_channel)


def test_create_writes_the_lock_that_lock_would_write(made: tuple) -> None:
    sandbox, env = made
    lock = env / ".mambaboot" / "lock.yml"
    written_by_create = lock.read_text(encoding="utf-8")
    assert "conda:" in written_by_create or "packages:" in written_by_create
    sandbox.run("lock", str(env), check=True)
    assert lock.read_text(encoding="utf-8") == written_by_create


def _locked(env: Path) -> set[tuple[str, str]]:
    import yaml

    data = yaml.safe_load((env / ".mambaboot" / "lock.yml").read_text(encoding="utf-8"))
    return {(p["conda"], p["sha256"]) for p in data["packages"]}


def test_every_engine_locks_the_same_packages(engine: EngineUnderTest, demo_channel: Path,
                                              tmp_path: Path, made: tuple) -> None:
    """Same URLs and sha256s; the records' own fields may differ (micromamba writes
    its conda-meta timestamps in whole seconds and an empty ``track_features``)."""
    _, first = made
    _, env = demo_env(tmp_path, demo_channel, engine=engine)
    assert _locked(env) == _locked(first) and len(_locked(env)) > 5


def test_lock_and_bundle_keep_rattler_out_of_the_calling_process(made: tuple,
                                                                 tmp_path: Path) -> None:
    sandbox, env = made
    script = f"""
import sys
from pathlib import Path
from mambaboot import api
result = api.lock(env=Path({str(env)!r}), format="explicit")
assert "@EXPLICIT" in result.content and result.packages > 0, result
bundle = api.bundle(env=Path({str(env)!r}), out=Path({str(tmp_path / 'b')!r}))
assert bundle.packages == result.packages, (bundle, result)
loaded = sorted(m for m in sys.modules if m == "rattler" or m.startswith("rattler."))
assert not loaded, loaded
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", script], env=sandbox.env, text=True,
                          capture_output=True, timeout=600, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr
