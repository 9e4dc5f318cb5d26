"""``mambaboot export``: the installer folder, run for real.

``install.sh`` runs end to end with the real micromamba (../shared, or
``MAMBABOOT_TEST_MICROMAMBA``) served from a 127.0.0.1 release mirror, against
the demo channel over HTTP, and ``--offline`` with every server stopped; the
result is checked with ``mambaboot verify`` and removed with ``mambaboot
remove``. install.bat runs under ``wine cmd`` up to its refusals (wine has no
certutil hashing or curl.exe); install.ps1 is checked for its steps only.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mambaboot.devchannel import ChannelServer
from mambaboot.engines.micromamba.binary import current_subdir
from tests.support.micromamba_standin import release_tree, shared_micromamba
from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.skipif(shared_micromamba() is None,
                                reason="no real micromamba (../shared, MAMBABOOT_TEST_MICROMAMBA)")


@pytest.fixture
def mirror(tmp_path: Path) -> tuple[ChannelServer, str, Path]:
    """A micromamba release mirror on 127.0.0.1 holding the real binary: (server, version,
    the binary's path in the mirror)."""
    real = shared_micromamba()
    assert real is not None
    out = subprocess.run([real, "--version"], capture_output=True, text=True, check=True)
    version = f"{out.stdout.strip().split()[0]}-0"
    release_tree(tmp_path / "mirror", version, current_subdir(), Path(real).read_bytes())
    server = ChannelServer(tmp_path / "mirror")
    yield server, version, tmp_path / "mirror" / version / f"micromamba-{current_subdir()}"
    server.close()


def bare_machine(base: Path) -> dict[str, str]:
    """What a machine with nothing installed gives a shell: PATH and a HOME, no conda."""
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "TMPDIR": str(base / "tmp")}


def installed_packages(prefix: Path) -> set[tuple[str, str, str]]:
    out = set()
    for meta in (prefix / "conda-meta").glob("*.json"):
        record = json.loads(meta.read_text())
        out.add((record["name"], record["version"], record["build"]))
    return out


def make_env(sandbox: Sandbox, channel: str) -> Path:
    sandbox.run("create", "shared", "3.11", "--no-managers", "--no-pip", "-c", channel,
                check=True)
    return sandbox.root / "shared_3_11"


def export(sandbox: Sandbox, mirror: tuple[ChannelServer, str, Path], out: Path,
           *extra: str) -> None:
    server, version, _binary = mirror
    env = {**sandbox.env, "MAMBABOOT_MICROMAMBA_URL": server.url}
    proc = sandbox.run("export", "shared_3_11", str(out), "--micromamba-version", version,
                       *extra, env=env)
    assert proc.returncode == 0, proc.stderr


def run_sh(folder: Path, base: Path, *args: str,
           extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    (base / "tmp").mkdir(parents=True, exist_ok=True)
    return subprocess.run(["sh", str(folder / "install.sh"), *args], capture_output=True,
                          text=True, env={**bare_machine(base), **(extra or {})}, timeout=600,
                          check=False)


def test_install_sh_rebuilds_the_environment_on_a_bare_machine(
        sandbox: Sandbox, demo_channel_url: str, mirror: tuple[ChannelServer, str, Path],
        tmp_path: Path) -> None:
    source = make_env(sandbox, demo_channel_url)
    folder = tmp_path / "share"
    export(sandbox, mirror, folder)
    assert {p.name for p in folder.iterdir()} >= {"install.sh", "install.bat", "install.ps1",
                                                  "README.txt", "env.txt", "lock.yml",
                                                  "mambaboot"}
    assert "@EXPLICIT" in (folder / "env.txt").read_text()
    machine = tmp_path / "machine"
    target = machine / "envs" / "shared_3_11"
    proc = run_sh(folder, machine, str(target))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed_packages(target) == installed_packages(source)
    # nothing outside the target and its cache folder; the home folder stays empty
    assert sorted(p.name for p in target.parent.iterdir()) == [".mambaboot-installer-cache",
                                                                "shared_3_11"]
    assert list((machine / "home").iterdir()) == []
    # mambaboot treats it as its own
    assert sandbox.run("verify", str(target)).returncode == 0
    listed = sandbox.run("list", "--root", str(target.parent), "--json", check=True).stdout
    assert [(e["name"], e["status"]) for e in json.loads(listed)["result"]["environments"]] == [
        ("shared_3_11", "ok")]
    ran = subprocess.run(["bash", "-c", f". '{target}/activate.sh' && python -c 'print(7)'"],
                         capture_output=True, text=True, env=bare_machine(machine), check=True)
    assert ran.stdout.strip() == "7"
    # a second run refuses the existing target, an active environment is refused
    again = run_sh(folder, machine, str(target))
    assert again.returncode == 2 and "already exists" in again.stderr
    active = run_sh(folder, machine, str(machine / "other"), extra={"CONDA_PREFIX": "/x"})
    assert active.returncode == 2 and "active" in active.stderr
    assert not (machine / "other").exists()
    assert sandbox.run("remove", str(target), "--yes").returncode == 0
    assert not target.exists()


def test_offline_export_installs_with_no_network_at_all(
        sandbox: Sandbox, demo_channel: Path, mirror: tuple[ChannelServer, str, Path],
        tmp_path: Path) -> None:
    with ChannelServer(demo_channel) as channel:
        make_env(sandbox, channel.url)
        folder = tmp_path / "share"
        export(sandbox, mirror, folder, "--offline")
    mirror[0].close()  # every server is gone now
    assert (folder / "micromamba" / "micromamba").is_file() and any((folder / "pkgs").iterdir())
    target = tmp_path / "machine" / "env"
    proc = run_sh(folder, tmp_path / "machine", str(target))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sandbox.run("verify", str(target)).returncode == 0


def test_a_tampered_micromamba_is_refused_and_nothing_is_left(
        sandbox: Sandbox, demo_channel_url: str, mirror: tuple[ChannelServer, str, Path],
        tmp_path: Path) -> None:
    make_env(sandbox, demo_channel_url)
    folder = tmp_path / "share"
    export(sandbox, mirror, folder)
    binary = mirror[2]
    binary.write_bytes(binary.read_bytes() + b"\0tampered")
    target = tmp_path / "machine" / "env"
    proc = run_sh(folder, tmp_path / "machine", str(target))
    assert proc.returncode == 1 and "refused" in proc.stderr, proc.stderr
    assert not target.exists()
    cache = tmp_path / "machine" / ".mambaboot-installer-cache" / "micromamba"
    assert [p for p in cache.rglob("*") if p.is_file()] == []  # no bad binary kept


def test_a_failed_create_removes_the_partial_target(
        sandbox: Sandbox, demo_channel: Path, mirror: tuple[ChannelServer, str, Path],
        tmp_path: Path) -> None:
    with ChannelServer(demo_channel) as channel:
        make_env(sandbox, channel.url)
        export(sandbox, mirror, tmp_path / "share")
    # the channel is gone: micromamba cannot download the packages
    target = tmp_path / "machine" / "env"
    proc = run_sh(tmp_path / "share", tmp_path / "machine", str(target))
    assert proc.returncode == 1 and "nothing was kept" in proc.stderr
    assert not target.exists()


def test_export_refuses_another_platform_and_a_used_folder(
        sandbox: Sandbox, demo_channel: Path, mirror: tuple[ChannelServer, str, Path],
        tmp_path: Path) -> None:
    make_env(sandbox, str(demo_channel))
    other = "win-64" if current_subdir() != "win-64" else "linux-64"
    proc = sandbox.run("export", "shared_3_11", str(tmp_path / "x"), "--platform", other)
    assert proc.returncode == 2 and f"locked for {current_subdir()}" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    proc = sandbox.run("export", "shared_3_11", str(used))
    assert proc.returncode == 2 and "not an empty folder" in proc.stderr
    assert (used / "keep.txt").read_text() == "mine"


def test_the_windows_scripts_carry_every_step(sandbox: Sandbox, demo_channel: Path,
                                             mirror: tuple[ChannelServer, str, Path],
                                             tmp_path: Path) -> None:
    make_env(sandbox, str(demo_channel))
    folder = tmp_path / "share"
    export(sandbox, mirror, folder)
    sha = mirror[2].read_bytes()
    import hashlib

    digest = hashlib.sha256(sha).hexdigest()
    bat = (folder / "install.bat").read_bytes().decode()
    ps1 = (folder / "install.ps1").read_bytes().decode()
    assert "\r\n" in bat and "@" + "NAME@" not in bat and "@" + "NAME@" not in ps1
    for needle in (digest, "certutil -hashfile", "curl.exe", "--no-rc", "if defined CONDA_PREFIX",
                   'rmdir /s /q "%TARGET%"'):
        assert needle in bat
    for needle in (digest, "Get-FileHash", "Invoke-WebRequest", "--no-rc", "finally"):
        assert needle in ps1
    assert os.access(folder / "install.sh", os.X_OK)


def test_a_given_micromamba_is_embedded_and_the_default_target_is_next_to_the_script(
        sandbox: Sandbox, demo_channel_url: str, tmp_path: Path) -> None:
    """--micromamba FILE: no mirror, no download; its sha256 is the one written in."""
    import hashlib

    real = shared_micromamba()
    assert real is not None
    make_env(sandbox, demo_channel_url)
    folder = tmp_path / "share"
    proc = sandbox.run("export", "shared_3_11", str(folder), "--micromamba", real, "--json")
    assert proc.returncode == 0, proc.stderr
    digest = hashlib.sha256(Path(real).read_bytes()).hexdigest()
    assert json.loads(proc.stdout)["result"]["micromamba_sha256"] == digest
    assert f"MICROMAMBA_SHA256='{digest}'" in (folder / "install.sh").read_text()
    assert (folder / "micromamba" / "micromamba").read_bytes() == Path(real).read_bytes()
    ran = run_sh(folder, tmp_path / "machine")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert sandbox.run("verify", str(folder / "shared_3_11")).returncode == 0


def test_install_sh_refuses_odd_targets_without_touching_anything(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    real = shared_micromamba()
    assert real is not None
    make_env(sandbox, str(demo_channel))
    folder = tmp_path / "share"
    sandbox.run("export", "shared_3_11", str(folder), "--micromamba", real, check=True)
    machine = tmp_path / "machine"
    victim = machine / "victim"
    victim.mkdir(parents=True)
    (victim / "data.txt").write_text("precious")
    # "new/../victim": the folder above is made, then the real path is checked
    sneaky = run_sh(folder, machine, str(machine / "new" / ".." / "victim"))
    assert sneaky.returncode == 2 and "already exists" in sneaky.stderr
    assert (victim / "data.txt").read_text() == "precious"
    for odd in ("q$(id)x", "tab\tx", "quo'te", "back`tick"):
        proc = run_sh(folder, machine, str(machine / odd))
        assert proc.returncode == 2 and "choose a plain path" in proc.stderr, (odd, proc.stderr)
        assert not (machine / odd).exists()


def test_the_seeds_environment_with_conda_and_mamba_installs_and_verifies(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    """Python + the real conda 25.9.1 and mamba 2.3.3 (../shared): noarch: python packages
    need their .pyc files compiled (micromamba skips that for explicit lists)."""
    real = shared_micromamba()
    assert real is not None
    sandbox.run("create", "seed", "3.11", "-c", str(demo_channel), check=True)
    folder = tmp_path / "share"
    sandbox.run("export", "seed_3_11", str(folder), "--offline", "--micromamba", real, check=True)
    target = tmp_path / "machine" / "seed_3_11"
    proc = run_sh(folder, tmp_path / "machine", str(target))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed_packages(target) == installed_packages(sandbox.root / "seed_3_11")
    verified = sandbox.run("verify", str(target))
    assert verified.returncode == 0, verified.stdout
    assert "conda 25.9.1" in verified.stdout or "conda: conda" in verified.stdout
    assert ".condarc" not in {p.name for p in (tmp_path / "machine").iterdir()}
    condarc = (target / ".condarc").read_text()
    assert "pkgs_dirs" not in condarc and str(sandbox.root) not in condarc
