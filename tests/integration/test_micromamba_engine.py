"""``create --engine micromamba`` end to end, with a STAND-IN (and optionally the real binary).

A real micromamba cannot be downloaded on the machines that run this suite,
so the ``stand-in`` cases put tests/support/micromamba_standin where the binary goes
(fetched through the normal, verified path from a 127.0.0.1 mirror). It
records its argv and environment, so the tests can assert the exact call, the
scrubbed environment and that nothing outside root and cache was written.

With ``MAMBABOOT_TEST_MICROMAMBA=/path/to/real/micromamba`` every case that
takes the ``micromamba_engine`` fixture also runs with that binary, served the
same way. Reuse the fixture from other modules with
``from tests.integration.test_micromamba_engine import micromamba_engine  # noqa: F401``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mambaboot.devchannel import PYTHON_VERSION, ChannelServer
from mambaboot.engines.micromamba.binary import current_subdir, exe_name
from mambaboot.engines.micromamba.engine import HOME_VARS, _vacated, create_argv
from mambaboot.errors import UsageError
from tests.support.micromamba_standin import (
    REAL_VAR,
    read_calls,
    release_tree,
    shared_micromamba,
    standin_bytes,
)
from tests.support.sandbox import Sandbox, snapshot

STANDIN_VERSION = "2.0.5-0"
PYVER = ".".join(PYTHON_VERSION.split(".")[:2])
ENVDIR = "mm_" + PYVER.replace(".", "_")
#: What a user's shell might carry; none of it may reach micromamba.
POLLUTION = {"CONDARC": "/etc/evil-condarc", "CONDA_CHANNELS": "defaults",
             "CONDA_SHLVL": "0", "MAMBA_ROOT_PREFIX": "/somewhere/else",
             "MAMBARC": "/etc/evil-mambarc", "MAMBA_NO_BANNER": "1",
             "PYTHONSTARTUP": "/etc/evil.py", "PYTHONNOUSERSITE": "1",
             "CONDA_PKGS_DIRS": "/not/this/one"}


@dataclass
class MicromambaUnderTest:
    """A binary served like a release mirror; ``kind`` is "stand-in" or "real"."""

    kind: str
    version: str
    server: ChannelServer

    @property
    def cli_args(self) -> list[str]:
        return ["--engine", "micromamba", "--micromamba-version", self.version]

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {**base, "MAMBABOOT_MICROMAMBA_URL": self.server.url}

    def cached(self, cache_root: Path) -> Path:
        subdir = current_subdir()
        return cache_root / "micromamba" / self.version / subdir / exe_name(subdir)


@pytest.fixture(params=["stand-in", "real"])
def micromamba_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                      channel_server: Callable[[Path], ChannelServer]) -> MicromambaUnderTest:
    """The micromamba to test with; the "real" case needs MAMBABOOT_TEST_MICROMAMBA."""
    mirror = tmp_path_factory.mktemp("micromamba-mirror")
    if request.param == "real":
        real = os.environ.get(REAL_VAR) or shared_micromamba()
        if not real:
            pytest.skip(f"{REAL_VAR} is not set (a real micromamba cannot be downloaded on "
                        "these machines); set it to a micromamba binary to run these cases")
        out = subprocess.run([real, "--version"], capture_output=True, text=True, check=True)
        version, body = f"{out.stdout.strip().split()[0]}-0", Path(real).read_bytes()
    else:
        version, body = STANDIN_VERSION, standin_bytes()
    release_tree(mirror, version, current_subdir(), body)
    return MicromambaUnderTest(request.param, version, channel_server(mirror))


def create(sandbox: Sandbox, mm: MicromambaUnderTest, channel: Path, *args: str,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return sandbox.run("create", "mm", PYVER, "-c", str(channel), *mm.cli_args, *args,
                       env=mm.env(env or sandbox.env))


def test_create_with_micromamba_engine_writes_only_root_and_cache(
        sandbox: Sandbox, demo_channel: Path, micromamba_engine: MicromambaUnderTest) -> None:
    proc = create(sandbox, micromamba_engine, demo_channel, env={**sandbox.env, **POLLUTION,
                                                                 "CONDA_PKGS_DIRS": ""})
    assert proc.returncode == 0, proc.stderr
    prefix = sandbox.root / ENVDIR
    manifest = json.loads((prefix / ".mambaboot" / "env.json").read_text())
    assert (manifest["engine"], manifest["engine_version"]) == (
        "micromamba", micromamba_engine.version)
    assert manifest["python_version"] == PYTHON_VERSION
    assert (prefix / ".mambaboot" / "lock.yml").is_file()
    assert not (prefix / ".mambaboot" / "creating").exists()
    assert (prefix / "pkgs").resolve() == (sandbox.root / ".cache" / "pkgs").resolve()
    assert sorted(p.name for p in sandbox.root.iterdir()) == [
        ".cache", ENVDIR]  # no parked .mambaboot left beside it, no lock files
    sandbox.assert_user_dirs_untouched()
    verified = sandbox.run("verify", ENVDIR)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_stand_in_gets_one_exact_create_call_and_a_scrubbed_environment(
        sandbox: Sandbox, demo_channel: Path, channel_server: Callable[[Path], ChannelServer],
        tmp_path: Path) -> None:
    mm = _standin(channel_server, tmp_path)
    cache = sandbox.base / "the cache"
    proc = create(sandbox, mm, demo_channel, "--with", "demo-tool", "--cache", str(cache),
                  env={**sandbox.env, **POLLUTION})
    assert proc.returncode == 0, proc.stderr
    # two calls: micromamba solves (--dry-run --json), mambaboot vets every planned
    # package into the cache, then micromamba links offline from those checked trees
    plan, call = read_calls(mm.cached(cache))
    binary, prefix = mm.cached(cache), sandbox.root / ENVDIR
    root_prefix = cache / "micromamba" / "root"
    common = [str(binary), "create", "--yes", "--prefix", str(prefix), "--override-channels",
              "-c", demo_channel.absolute().as_uri(), "--no-rc", "--root-prefix",
              str(root_prefix)]
    specs = [f"python={PYVER}", "pip", "conda", "mamba", "demo-tool"]
    assert plan["argv"] == [*common, "--dry-run", "--json", *specs]
    assert call["argv"] == [*common, "--offline", *specs]
    assert plan["env"] == call["env"]
    env = call["env"]
    steering = sorted(k for k in env if k.upper().startswith(("CONDA", "MAMBA", "PYTHON")))
    assert steering == ["CONDA_PKGS_DIRS", "MAMBA_ADD_PIP_AS_PYTHON_DEPENDENCY",
                        "MAMBA_ROOT_PREFIX"]
    assert env["MAMBA_ADD_PIP_AS_PYTHON_DEPENDENCY"] == "false"  # pip only as requested
    assert env["CONDA_PKGS_DIRS"] == str(cache / "pkgs")
    assert env["MAMBA_ROOT_PREFIX"] == str(root_prefix)
    assert {env[v] for v in HOME_VARS} == {str(cache / "micromamba" / "home")}
    assert not any(k.startswith("MAMBABOOT") for k in env)
    assert env["PATH"] == sandbox.env["PATH"]  # the rest of the environment is kept
    # what the stand-in (like the real tool) writes to ~ stayed inside the cache
    registered = cache / "micromamba" / "home" / ".conda" / "environments.txt"
    assert registered.read_text().splitlines() == [str(prefix)]
    log = (cache / "micromamba" / "logs" / f"create-{ENVDIR}.log").read_text()
    assert "Transaction finished" in log
    assert sorted(p.name for p in sandbox.root.iterdir()) == [ENVDIR]
    sandbox.assert_user_dirs_untouched()


def test_stand_in_failure_shows_the_log_tail_and_leaves_nothing(
        sandbox: Sandbox, demo_channel: Path, channel_server: Callable[[Path], ChannelServer],
        tmp_path: Path) -> None:
    mm = _standin(channel_server, tmp_path)
    proc = create(sandbox, mm, demo_channel, "--with", "no-such-package")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    first, *details = proc.stderr.strip().splitlines()
    assert first.startswith("mambaboot: micromamba could not solve the request (exit code 1)")
    assert "create-mm_" in first
    assert any("no-such-package" in line for line in details)
    # with --json, micromamba's own problem report is the error's details
    as_json = create(sandbox, mm, demo_channel, "--with", "no-such-package", "--json")
    doc = json.loads(as_json.stdout)
    assert doc["ok"] is False and "solver_problems" in doc["error"]["details"]
    assert sorted(p.name for p in sandbox.root.iterdir()) == [".cache"]  # the log is in it
    sandbox.assert_user_dirs_untouched()


def test_stand_in_offline_create_passes_offline_and_makes_no_request(
        sandbox: Sandbox, demo_channel: Path, channel_server: Callable[[Path], ChannelServer],
        tmp_path: Path) -> None:
    mm = _standin(channel_server, tmp_path)
    assert create(sandbox, mm, demo_channel).returncode == 0
    assert sandbox.run("remove", ENVDIR, "--yes").returncode == 0
    requests = mm.server.count("*")
    proc = create(sandbox, mm, demo_channel, "--offline")
    assert proc.returncode == 0, proc.stderr
    assert mm.server.count("*") == requests
    calls = read_calls(mm.cached(sandbox.root / ".cache"))
    # first create: a plan made online, then an offline link; then both offline
    assert ["--offline" in c["argv"] for c in calls] == [False, True, True, True]
    assert calls[2]["argv"][-7:] == ["--offline", "--dry-run", "--json", f"python={PYVER}",
                                     "pip", "conda", "mamba"]


def test_offline_create_without_the_binary_names_the_fetch_command(
        sandbox: Sandbox, demo_channel: Path) -> None:
    proc = sandbox.run("create", "mm", "-c", str(demo_channel), "--engine", "micromamba",
                       "--offline")
    assert proc.returncode == 1
    assert "mambaboot micromamba fetch" in proc.stderr
    assert sorted(p.name for p in sandbox.root.iterdir()) == [".cache"]  # the log is in it


def test_micromamba_options_are_refused_with_the_rattler_engine(
        sandbox: Sandbox, demo_channel: Path) -> None:
    proc = sandbox.run("create", "mm", "-c", str(demo_channel), "--micromamba-version", "2.0.5-0")
    assert proc.returncode == 2 and "--engine micromamba" in proc.stderr
    assert snapshot(sandbox.root) == set()


def test_create_argv_never_lets_a_spec_pass_as_an_option(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        create_argv(tmp_path / "mm", tmp_path / "p", ["c"], ["--rc-file=/x"], tmp_path / "r")


def test_vacated_prefix_puts_the_marker_back_even_on_failure(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    (prefix / ".mambaboot").mkdir(parents=True)
    (prefix / ".mambaboot" / "creating").write_text("pid 1\n")
    with pytest.raises(RuntimeError), _vacated(prefix):
        assert not prefix.exists()  # micromamba 2.0 wants no folder at all
        assert (tmp_path / ".env.mambaboot-parked" / "creating").is_file()
        raise RuntimeError
    assert (prefix / ".mambaboot" / "creating").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env"]


def _standin(channel_server: Callable[[Path], ChannelServer],
             tmp_path: Path) -> MicromambaUnderTest:
    release_tree(tmp_path / "mirror", STANDIN_VERSION, current_subdir(), standin_bytes())
    return MicromambaUnderTest("stand-in", STANDIN_VERSION, channel_server(tmp_path / "mirror"))


def test_both_engines_give_the_same_package_set(
        sandbox: Sandbox, demo_channel: Path, micromamba_engine: MicromambaUnderTest) -> None:
    """Engine parity: one request, one package set (pip included, as in conda)."""
    if micromamba_engine.kind != "real":
        pytest.skip("only a real micromamba solves")

    def package_set(prefix: Path) -> set[tuple[str, str, str]]:
        records = (json.loads(p.read_text()) for p in (prefix / "conda-meta").glob("*.json"))
        return {(r["name"], r["version"], r["build"]) for r in records}

    for args in ((), ("--no-pip",)):
        sandbox.run("create", "emb", PYVER, "-c", str(demo_channel), "--with", "demo-tool",
                    *args, check=True)
        proc = create(sandbox, micromamba_engine, demo_channel, "--with", "demo-tool", *args)
        assert proc.returncode == 0, proc.stderr
        embedded = package_set(sandbox.root / f"emb_{ENVDIR.split('_', 1)[1]}")
        made = package_set(sandbox.root / ENVDIR)
        assert embedded == made
        assert any(name == "pip" for name, *_ in made) == (not args)
        # scripts work although the root has spaces and non-ASCII characters
        ran = sandbox.run("run", ENVDIR, "--", "conda", "--version", check=True)
        assert "conda" in ran.stdout
        assert sandbox.run("verify", ENVDIR).returncode == 0
        for name in ("emb_" + ENVDIR.split("_", 1)[1], ENVDIR):
            sandbox.run("remove", name, "--yes", check=True)


def test_a_micromamba_env_is_locked_bundled_and_rebuilt_like_any_other(
        sandbox: Sandbox, demo_channel: Path, micromamba_engine: MicromambaUnderTest,
        tmp_path: Path) -> None:
    """lock, bundle and --from-bundle treat a micromamba-made env as the embedded engine's."""
    if micromamba_engine.kind != "real":
        pytest.skip("the real binary's records and history are what this checks")
    proc = create(sandbox, micromamba_engine, demo_channel, "--with", "demo-tool")
    assert proc.returncode == 0, proc.stderr
    prefix = sandbox.root / ENVDIR
    history = (prefix / "conda-meta" / "history").read_text()
    assert "# update specs:" in history  # micromamba's own history is kept
    sandbox.run("lock", ENVDIR, check=True)
    assert sandbox.run("verify", ENVDIR).returncode == 0
    bundle = tmp_path / "mm.tar"
    sandbox.run("bundle", ENVDIR, str(bundle), check=True)
    sandbox.run("create", "rebuilt", "--from-bundle", str(bundle), check=True)

    def package_set(path: Path) -> set[tuple[str, str, str, str]]:
        records = (json.loads(p.read_text()) for p in (path / "conda-meta").glob("*.json"))
        return {(r["name"], r["version"], r["build"], r.get("sha256", "")) for r in records}

    assert package_set(sandbox.root / "rebuilt") == package_set(prefix)
    assert sandbox.run("verify", "rebuilt").returncode == 0


def test_micromamba_would_run_post_link_scripts_so_they_need_the_flag(
        sandbox: Sandbox, demo_channel: Path, micromamba_engine: MicromambaUnderTest) -> None:
    """micromamba has no switch to skip post-link scripts: such a package is refused."""
    if micromamba_engine.kind != "real":
        pytest.skip("the stand-in links with the embedded engine, which skips scripts anyway")
    proc = create(sandbox, micromamba_engine, demo_channel, "--no-managers",
                  "--with", "demo-postlink")
    assert proc.returncode == 1 and "demo-postlink" in proc.stderr
    assert "post-link script" in proc.stderr and "--allow-link-scripts" in proc.stderr
    assert not (sandbox.root / ENVDIR).exists()
    proc = create(sandbox, micromamba_engine, demo_channel, "--no-managers",
                  "--with", "demo-postlink", "--allow-link-scripts")
    assert proc.returncode == 0, proc.stderr
    assert (sandbox.root / ENVDIR / "share" / "demo-postlink" / "ran.txt").exists()
