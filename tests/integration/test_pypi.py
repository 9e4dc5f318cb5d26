"""PyPI packages end to end: a pip: section installed by uv, locked with URL + sha256,
rebuilt exactly from the lock (retrying a flaky index) and offline from a bundle, checked
by verify; what cannot be installed exactly is refused by name, never dropped.

The wheels are real wheels built by the suite, on a PEP 503 index served from 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mambaboot.devchannel import ChannelServer
from tests.support.pypi_index import build_wheel, demo_index, write_index
from tests.support.sandbox import Sandbox

ENV = "withpypi"


@pytest.fixture
def index(tmp_path: Path) -> Iterator[ChannelServer]:
    with ChannelServer(demo_index(tmp_path / "index")) as server:
        yield server


def env_yml(folder: Path, channel: Path, url: str, *pip: str, conda: str = "") -> Path:
    path = folder / "environment.yml"
    extra = f"  - {conda}\n" if conda else ""
    path.write_text(f"name: {ENV}\nchannels:\n  - {channel}\ndependencies:\n  - python\n"
                    f"{extra}  - pip:\n    - --index-url {url}/simple\n"
                    + "".join(f"    - {p}\n" for p in pip))
    return path


def create_from_yml(sandbox: Sandbox, yml: Path) -> None:
    sandbox.run("create", "--file", str(yml), "--no-managers", "--no-pip", check=True)


def pypi_entries(lock: Path) -> dict[str, dict]:
    data = yaml.safe_load(lock.read_text())
    return {p["name"]: p for p in data["packages"] if "pypi" in p}


def test_pip_section_is_installed_locked_and_verified(sandbox: Sandbox, demo_channel: Path,
                                                      index: ChannelServer,
                                                      tmp_path: Path) -> None:
    yml = env_yml(tmp_path, demo_channel, index.url, "needs-hello", "distro", conda="distro")
    create_from_yml(sandbox, yml)
    prefix = sandbox.root / ENV
    ran = sandbox.run("run", ENV, "--", "python", "-c",
                      "import needs_hello, distro; print(needs_hello.Y)", check=True)
    assert ran.stdout.strip() == "1"  # hello<2 honoured: 1.0, not the newest 2.0
    entries = pypi_entries(prefix / ".mambaboot" / "lock.yml")
    # distro came from conda and stays conda's: a pip: requirement it satisfies adds nothing
    assert sorted(entries) == ["hello", "needs-hello"]
    wheel = index.directory / "files" / "hello-1.0-py3-none-any.whl"
    assert entries["hello"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert entries["hello"]["pypi"] == f"{index.url}/files/hello-1.0-py3-none-any.whl"
    assert entries["needs-hello"]["requires_dist"] == ["hello<2"]
    verified = sandbox.run("verify", ENV)
    assert verified.returncode == 0 and "2 PyPI packages intact" in verified.stdout
    # an exported environment.yml carries the pins and the index
    exported = yaml.safe_load(sandbox.run("lock", ENV, "--format", "environment-yml",
                                          check=True).stdout)
    assert exported["dependencies"][-1] == {"pip": [f"--index-url {index.url}/simple",
                                                    "hello==1.0", "needs-hello==0.1"]}
    explicit = sandbox.run("lock", ENV, "--format", "explicit", check=True).stdout
    assert "#   hello==1.0 " in explicit  # named, never dropped silently
    site = next(prefix.glob("lib/python3*/site-packages"))
    with (site / "hello" / "__init__.py").open("a") as fh:
        fh.write("X = 666\n")
    drift = sandbox.run("verify", ENV)
    assert drift.returncode == 1 and "hello: hello/__init__.py was modified" in drift.stdout


def test_locked_wheels_rebuild_exactly_retrying_and_offline_from_a_bundle(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    root = demo_index(tmp_path / "index")
    with ChannelServer(root) as server:
        create_from_yml(sandbox, env_yml(tmp_path, demo_channel, server.url, "needs-hello"))
        lock = tmp_path / "lock.yml"
        shutil.copy(sandbox.root / ENV / ".mambaboot" / "lock.yml", lock)
        # a newer hello on the index changes nothing: the lock is exact, no resolution
        build_wheel(root / "files", "hello", "1.5", {"hello/__init__.py": "X = 15\n"})
        write_index(root)
        wheel = "/files/hello-1.0-py3-none-any.whl"
        before = server.count(wheel)  # uv's own requests (it reads metadata by range)
        server.faults.fail(wheel, status=503, times=2)
        sandbox.run("create", "again", "--from-lock", str(lock), check=True)
        assert server.count(wheel) - before == 3  # two 503s, then fetched once, by us
        ran = sandbox.run("run", "again", "--", "python", "-c",
                          "import hello; print(hello.X)", check=True)
        assert ran.stdout.strip() == "1"
        assert pypi_entries(sandbox.root / "again" / ".mambaboot" / "lock.yml") == \
            pypi_entries(lock)
        bundle = tmp_path / "b.tar"
        sandbox.run("bundle", "again", str(bundle), check=True)
    # the index is gone: the bundle carries the wheels
    sandbox.run("create", "offline", "--from-bundle", str(bundle), "--cache",
                str(tmp_path / "fresh-cache"), check=True)
    verified = sandbox.run("verify", "offline")
    assert verified.returncode == 0 and "2 PyPI packages intact" in verified.stdout


def test_a_wheel_that_changed_on_the_index_is_refused(sandbox: Sandbox, demo_channel: Path,
                                                       index: ChannelServer,
                                                       tmp_path: Path) -> None:
    create_from_yml(sandbox, env_yml(tmp_path, demo_channel, index.url, "needs-hello"))
    lock = tmp_path / "lock.yml"
    shutil.copy(sandbox.root / ENV / ".mambaboot" / "lock.yml", lock)
    build_wheel(index.directory / "files", "hello", "1.0", {"hello/__init__.py": "EVIL = 1\n"})
    proc = sandbox.run("create", "again", "--from-lock", str(lock))
    assert proc.returncode == 1 and "sha256" in proc.stderr and "Traceback" not in proc.stderr
    assert not (sandbox.root / "again").exists()


def test_source_only_packages_are_refused_by_name(sandbox: Sandbox, demo_channel: Path,
                                                  index: ChannelServer, tmp_path: Path) -> None:
    proc = sandbox.run("create", "--file", str(env_yml(tmp_path, demo_channel, index.url,
                                                       "srconly")),
                       "--no-managers", "--no-pip")
    assert proc.returncode == 2, proc.stderr
    assert "srconly" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (sandbox.root / ENV).exists()


def test_a_locked_pypi_entry_that_is_not_a_wheel_is_refused_by_name(
        sandbox: Sandbox, demo_channel: Path, index: ChannelServer, tmp_path: Path) -> None:
    create_from_yml(sandbox, env_yml(tmp_path, demo_channel, index.url, "needs-hello"))
    text = (sandbox.root / ENV / ".mambaboot" / "lock.yml").read_text()
    lock = tmp_path / "lock.yml"
    lock.write_text(text.replace("hello-1.0-py3-none-any.whl", "hello-1.0.tar.gz"))
    proc = sandbox.run("create", "again", "--from-lock", str(lock))
    assert proc.returncode == 2, proc.stderr
    assert "hello" in proc.stderr and "not a wheel" in proc.stderr
    assert not (sandbox.root / "again").exists()


def test_a_wheel_that_overwrites_conda_files_is_refused(sandbox: Sandbox, demo_channel: Path,
                                                        index: ChannelServer,
                                                        tmp_path: Path) -> None:
    """distro comes from conda; a wheel shipping distro/__init__.py would replace it."""
    build_wheel(index.directory / "files", "clobber", "1.0",
                {"distro/__init__.py": "HIJACKED = True\n"})
    write_index(index.directory)
    yml = env_yml(tmp_path, demo_channel, index.url, "clobber", conda="distro")
    proc = sandbox.run("create", "--file", str(yml), "--no-managers", "--no-pip")
    assert proc.returncode == 1, proc.stderr
    assert "Refused the PyPI package clobber" in proc.stderr and "conda package distro" \
        in proc.stderr and "Traceback" not in proc.stderr
    assert not (sandbox.root / ENV).exists()
