"""Lockfiles, exact rebuilds, offline creates, bundles and drift (issue: reproducible envs)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from tests.support.sandbox import Sandbox


def package_set(prefix: Path) -> set[tuple[str, str, str, str]]:
    records = (json.loads(p.read_text()) for p in (prefix / "conda-meta").glob("*.json"))
    return {(r["name"], r["version"], r["build"], r["sha256"]) for r in records}


@pytest.fixture
def channel_copy(demo_channel: Path, tmp_path: Path) -> Path:
    """A private copy of the demo channel that a test may tamper with."""
    return Path(shutil.copytree(demo_channel, tmp_path / "channel copy"))


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def make_env(sandbox: Sandbox, channel: str | Path, name: str = "orig", *extra: str) -> Path:
    sandbox.run("create", name, "--with", "demo-tool", "-c", str(channel), *extra, check=True)
    return sandbox.root / name


def test_rebuild_from_lock_in_another_root_and_cache_is_identical(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    original = make_env(sandbox, demo_channel)
    lock = tmp_path / "saved-lock.yml"
    shutil.copy(original / ".mambaboot" / "lock.yml", lock)
    text = lock.read_text()
    assert "sha256:" in text and "md5:" in text and "linux-64" in text
    expected = package_set(original)
    sandbox.run("remove", "orig", "--yes", check=True)

    other_root, other_cache = tmp_path / "other root ü", tmp_path / "other cache"
    proc = sandbox.run("create", "rebuilt", "--from-lock", str(lock), "--root", str(other_root),
                       "--cache", str(other_cache), check=True)
    assert "lockfile" in proc.stdout
    assert package_set(other_root / "rebuilt") == expected
    manifest = json.loads((other_root / "rebuilt" / ".mambaboot" / "env.json").read_text())
    assert manifest["source"] == "lockfile" and manifest["channels"] == [demo_channel.as_uri()]
    assert sandbox.run("verify", str(other_root / "rebuilt")).returncode == 0


def test_rebuild_from_explicit_export(sandbox: Sandbox, demo_channel: Path,
                                      tmp_path: Path) -> None:
    original = make_env(sandbox, demo_channel)
    explicit = tmp_path / "env.txt"
    sandbox.run("lock", "orig", "--format", "explicit", "-o", str(explicit), check=True)
    lines = explicit.read_text().splitlines()
    assert "@EXPLICIT" in lines
    assert all("#" in line and len(line.split("#")[1]) == 64 for line in lines
               if line.startswith("file:"))
    sandbox.run("create", "again", "--from-lock", str(explicit), check=True)
    assert package_set(sandbox.root / "again") == package_set(original)


def md5_only_export(sandbox: Sandbox, tmp_path: Path) -> Path:
    """What 'conda list --explicit --md5' writes for the env 'orig': URL#MD5 lines."""
    prefix = sandbox.root / "orig"
    records = [json.loads(m.read_text()) for m in sorted((prefix / "conda-meta").glob("*.json"))]
    platform = json.loads((prefix / ".mambaboot" / "env.json").read_text())["platform"]
    path = tmp_path / "md5.txt"
    path.write_text(f"# platform: {platform}\n@EXPLICIT\n"
                    + "".join(f"{r['url']}#{r['md5']}\n" for r in records))
    return path


def test_md5_only_explicit_files_rebuild_with_one_warning(
        sandbox: Sandbox, channel_copy: Path, channel_server, tmp_path: Path) -> None:
    server = channel_server(channel_copy)
    original = make_env(sandbox, server.url)
    md5 = md5_only_export(sandbox, tmp_path)
    assert "sha256" not in md5.read_text() and "@EXPLICIT" in md5.read_text()
    proc = sandbox.run("create", "again", "--from-lock", str(md5),
                       "--cache", str(tmp_path / "fresh cache"), check=True)
    warnings = [line for line in proc.stderr.splitlines() if "md5" in line]
    assert len(warnings) == 1 and "pinned by md5 only" in warnings[0], proc.stderr
    assert "conda list --explicit --sha256" in warnings[0]
    assert package_set(sandbox.root / "again") == package_set(original)
    assert sandbox.run("verify", "again").returncode == 0
    # the rebuilt environment's own lock pins every package by sha256 again
    assert "sha256:" in (sandbox.root / "again" / ".mambaboot" / "lock.yml").read_text()
    # a tampered archive is refused by its md5
    [archive] = (channel_copy / "linux-64").glob("demo-tool-*.tar.bz2")
    flip_byte(archive)
    bad = sandbox.run("create", "bad", "--from-lock", str(md5),
                      "--cache", str(tmp_path / "other cache"))
    assert bad.returncode == 1, bad.stderr
    assert "demo-tool" in bad.stderr and "expected md5" in bad.stderr
    assert "Traceback" not in bad.stderr and not (sandbox.root / "bad").exists()


def test_bundle_rebuilds_with_the_channel_server_stopped(
        sandbox: Sandbox, demo_channel: Path, channel_server, tmp_path: Path) -> None:
    server = channel_server(demo_channel)
    original = make_env(sandbox, server.url)
    bundle = tmp_path / "env bundle.tar"
    sandbox.run("bundle", "orig", str(bundle), check=True)
    server.close()
    proc = sandbox.run("create", "airgapped", "--from-bundle", str(bundle),
                       "--cache", str(tmp_path / "empty cache"), check=True)
    assert "Created" in proc.stdout
    assert package_set(sandbox.root / "airgapped") == package_set(original)
    # the urls recorded are still the channel's, not the bundle's temp copies
    meta = json.loads(next((sandbox.root / "airgapped" / "conda-meta").glob("demo-tool-*.json"))
                      .read_text())
    assert meta["url"].startswith(server.url)


def test_tampered_archive_in_channel_is_refused(
        sandbox: Sandbox, channel_copy: Path, tmp_path: Path) -> None:
    make_env(sandbox, channel_copy)
    lock = sandbox.root / "orig" / ".mambaboot" / "lock.yml"
    [archive] = (channel_copy / "linux-64").glob("demo-tool-*.tar.bz2")
    flip_byte(archive)
    proc = sandbox.run("create", "t", "--from-lock", str(lock), "--cache",
                       str(tmp_path / "fresh cache"))
    assert proc.returncode == 1
    assert "demo-tool" in proc.stderr and "expected sha256" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (sandbox.root / "t").exists()


def test_tampered_archive_in_cache_is_replaced_by_a_checked_copy_and_said(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    make_env(sandbox, demo_channel)
    lock = tmp_path / "lock.yml"
    shutil.copy(sandbox.root / "orig" / ".mambaboot" / "lock.yml", lock)
    cache = tmp_path / "cache"
    sandbox.run("create", "first", "--from-lock", str(lock), "--cache", str(cache), check=True)
    cached = next((cache / "pkgs").glob("demo-tool-*.tar.bz2"))
    good = cached.read_bytes()
    flip_byte(cached)
    proc = sandbox.run("create", "second", "--from-lock", str(lock), "--cache", str(cache))
    assert proc.returncode == 0, proc.stderr  # fetched afresh in this run, checked
    assert "cached archive of demo-tool" in proc.stderr
    assert "does not match the lockfile" in proc.stderr
    # the damaged copy is gone (rattler's checked, unpacked tree serves) or replaced
    assert not cached.exists() or cached.read_bytes() == good
    assert sandbox.run("verify", "second").returncode == 0


def test_offline_uses_only_the_cache(sandbox: Sandbox, demo_channel: Path, channel_server,
                                     tmp_path: Path) -> None:
    server = channel_server(demo_channel)
    make_env(sandbox, server.url)
    lock = sandbox.root / "orig" / ".mambaboot" / "lock.yml"
    requests_before = len(server.faults.requests)
    proc = sandbox.run("create", "warm", "--from-lock", str(lock), "--offline", check=True)
    assert "Created" in proc.stdout
    assert len(server.faults.requests) == requests_before  # not one request
    proc = sandbox.run("create", "cold", "--from-lock", str(lock), "--offline",
                       "--cache", str(tmp_path / "empty"))
    assert proc.returncode == 1
    assert "--offline" in proc.stderr and "demo-tool-1.0" in proc.stderr
    assert "python-" in proc.stderr and not (sandbox.root / "cold").exists()


def test_offline_uses_a_local_channel_directly(sandbox: Sandbox, demo_channel: Path,
                                               tmp_path: Path) -> None:
    """A directory channel needs no network: --offline creates from it with an empty cache,
    and rebuilds from a lock whose URLs are file:// ones."""
    sandbox.run("create", "local", "--no-managers", "-c", str(demo_channel), "--offline",
                "--cache", str(tmp_path / "empty"), check=True)
    lock = sandbox.root / "local" / ".mambaboot" / "lock.yml"
    sandbox.run("create", "again", "--from-lock", str(lock), "--offline",
                "--cache", str(tmp_path / "empty-too"), check=True)
    assert sandbox.run("verify", "again").returncode == 0


def test_offline_with_an_uncached_remote_channel_says_so(
        sandbox: Sandbox, demo_channel: Path, channel_server, tmp_path: Path) -> None:
    server = channel_server(demo_channel)
    proc = sandbox.run("create", "x", "--no-managers", "-c", server.url, "--offline",
                       "--cache", str(tmp_path / "empty"))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines()[0] == (
        "mambaboot: --offline, but a channel's package index is not in the cache; run the "
        "same command once without --offline (a local directory channel needs no cache).")
    assert not server.faults.requests and not (sandbox.root / "x").exists()


def test_offline_solve_uses_cached_repodata(sandbox: Sandbox, demo_channel: Path,
                                            channel_server) -> None:
    server = channel_server(demo_channel)
    make_env(sandbox, server.url)
    server.close()
    sandbox.run("create", "again", "--with", "demo-tool", "-c", server.url, "--offline",
                check=True)


def test_drift_is_reported(sandbox: Sandbox, demo_channel: Path) -> None:
    prefix = make_env(sandbox, demo_channel, "d", "--no-managers", "--with", "demo-prefix")
    clean = json.loads(sandbox.run("verify", "d", "--json", check=True).stdout)
    assert clean["ok"] and clean["result"]["ok"]
    # an edited file (copy-on-write so the shared cache stays intact), a deleted file
    tool = prefix / "bin" / "demo-tool"
    content = tool.read_bytes()
    tool.unlink()
    tool.write_bytes(content + b"# edited\n")
    tool.chmod(0o755)
    (prefix / "lib" / "libdemo.txt").unlink()
    # a package installed behind our back with py-rattler directly
    import rattler

    async def add_package() -> None:
        records = await rattler.solve(sources=[demo_channel.as_uri()],
                                      specs=["python", "demo-tool", "demo-prefix", "demo-noarch"],
                                      gateway=rattler.Gateway(cache_dir=sandbox.base / "gw"))
        await rattler.install(records, target_prefix=prefix, show_progress=False,
                              cache_dir=sandbox.root / ".cache" / "pkgs")
    asyncio.run(add_package())
    proc = sandbox.run("verify", "d")
    assert proc.returncode == 1
    assert "modified: demo-tool: bin/demo-tool" in proc.stdout
    assert "missing: libdemo: lib/libdemo.txt" in proc.stdout
    assert "not in the lockfile: demo-noarch" in proc.stdout
    report = json.loads(sandbox.run("verify", "d", "--json").stdout)["result"]
    assert {c["name"] for c in report["checks"] if not c["ok"]} == {"files", "lockfile"}
    # after 'lock', the extra package is accepted as the new truth
    sandbox.run("lock", "d", check=True)
    report = json.loads(sandbox.run("verify", "d", "--json").stdout)["result"]
    assert {c["name"] for c in report["checks"] if not c["ok"]} == {"files"}


def test_pixi_lock_with_several_platforms_picks_ours(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    import rattler

    async def records(subdir: str, specs: list[str]) -> list:
        return await rattler.solve(sources=[demo_channel.as_uri()], specs=specs,
                                   platforms=[subdir, "noarch"],
                                   gateway=rattler.Gateway(cache_dir=tmp_path / "gw"))
    here = str(rattler.Subdir.current())
    linux = asyncio.run(records(here, ["python", "demo-tool"]))
    win = asyncio.run(records("win-64", ["micromamba"]))
    osx = asyncio.run(records("osx-arm64", ["micromamba"]))
    platforms = {p: rattler.LockPlatform(p) for p in (here, "win-64", "osx-arm64")}
    lock = rattler.LockFile(list(platforms.values()))
    lock.set_channels("default", [rattler.LockChannel(demo_channel.as_uri())])
    for subdir, recs in ((here, linux), ("win-64", win), ("osx-arm64", osx)):
        for record in recs:
            lock.add_conda_package("default", platforms[subdir], record)
    pixi = tmp_path / "pixi.lock"
    lock.to_path(pixi)
    sandbox.run("create", "px", "--from-lock", str(pixi), check=True)
    names = {n for n, *_ in package_set(sandbox.root / "px")}
    assert names == {"python", "demo-tool", "libdemo"}


def test_environment_picks_one_environment_of_a_pixi_workspace_lock(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    """A pixi workspace locks several environments: --environment chooses, the default
    is 'default' with a warning naming the others, an unknown name is bad input."""
    import rattler

    async def records(specs: list[str]) -> list:
        return await rattler.solve(sources=[demo_channel.as_uri()], specs=specs,
                                   gateway=rattler.Gateway(cache_dir=tmp_path / "gw"))
    platform = rattler.LockPlatform(str(rattler.Subdir.current()))
    lock = rattler.LockFile([platform])
    for env, specs in (("default", ["python"]), ("test", ["python", "demo-tool"])):
        lock.set_channels(env, [rattler.LockChannel(demo_channel.as_uri())])
        for record in asyncio.run(records(specs)):
            lock.add_conda_package(env, platform, record)
    pixi = tmp_path / "pixi.lock"
    lock.to_path(pixi)
    proc = sandbox.run("create", "t", "--from-lock", str(pixi), "--environment", "test",
                       check=True)
    assert "environments" not in proc.stderr
    assert {n for n, *_ in package_set(sandbox.root / "t")} == {"python", "demo-tool", "libdemo"}
    proc = sandbox.run("create", "d", "--from-lock", str(pixi), check=True)
    assert ("warning: the lockfile pixi.lock holds 2 environments; installing 'default' (the "
            "others: test; pick one with --environment NAME).") in proc.stderr
    assert {n for n, *_ in package_set(sandbox.root / "d")} == {"python"}
    bad = sandbox.run("create", "x", "--from-lock", str(pixi), "-e", "docs")
    assert bad.returncode == 2, bad.stderr
    assert bad.stderr.strip() == (f"mambaboot: The lockfile {pixi} has no environment 'docs' "
                                  "(it has: default, test); pick one of those with "
                                  "--environment.")
    assert not (sandbox.root / "x").exists()
    usage = sandbox.run("create", "x", "--environment", "test")
    assert usage.returncode == 2 and "--from-lock or --from-bundle" in usage.stderr


BAD_LOCKS = {
    "not yaml": "version: [unclosed\n",
    "unknown version": "version: 99\nenvironments: {}\npackages: []\n",
    "missing fields": "version: 6\n",
    "explicit without sha256": "@EXPLICIT\nfile:///x/linux-64/a-1-0.tar.bz2#0123abcd\n",
    "explicit not a package": "@EXPLICIT\nhttps://example.invalid/readme.txt\n",
}


@pytest.mark.parametrize("content", BAD_LOCKS.values(), ids=BAD_LOCKS.keys())
def test_malformed_lockfiles_exit_2(sandbox: Sandbox, tmp_path: Path, content: str) -> None:
    lock = tmp_path / "bad.lock"
    lock.write_text(content)
    proc = sandbox.run("create", "b", "--from-lock", str(lock))
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (sandbox.root / "b").exists()


def test_environment_yml(sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    yml = tmp_path / "environment.yml"
    yml.write_text(f"name: fromfile\nchannels:\n  - {demo_channel}\n"
                   "dependencies:\n  - python\n  - demo-tool\n")
    sandbox.run("create", "--file", str(yml), check=True)
    names = {n for n, *_ in package_set(sandbox.root / "fromfile")}
    assert {"python", "demo-tool", "libdemo", "conda", "mamba"} <= names
    exported = sandbox.run("lock", "fromfile", "--format", "environment-yml", check=True).stdout
    assert "demo-tool" in exported and "fromfile" in exported


BAD_YML = {
    "bad yaml": "name: [x\n",
    "no dependencies": "name: x\nchannels: [c]\n",
    "pip git checkout": "name: x\ndependencies:\n  - python\n  - pip:\n    - git+https://x/y\n",
    "not a mapping": "- just\n- a list\n",
    "bad channels": "name: x\nchannels: 5\ndependencies: [python]\n",
}


@pytest.mark.parametrize("content", BAD_YML.values(), ids=BAD_YML.keys())
def test_malformed_environment_yml_exit_2(sandbox: Sandbox, tmp_path: Path,
                                          content: str) -> None:
    yml = tmp_path / "environment.yml"
    yml.write_text(content)
    proc = sandbox.run("create", "--file", str(yml))
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    if "pip" in content:
        assert "pip requirement 'git+https://x/y'" in proc.stderr


def test_lock_exports_go_where_asked(sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    """-o writes every format (lock.yml too); --json without -o carries the export itself."""
    sandbox.run("create", "ex", "--no-managers", "-c", str(demo_channel), check=True)
    lock_yml = sandbox.root / "ex" / ".mambaboot" / "lock.yml"
    copy = tmp_path / "copy.yml"
    sandbox.run("lock", "ex", "-o", str(copy), check=True)
    assert copy.read_text() == lock_yml.read_text()
    doc = json.loads(sandbox.run("lock", "ex", "--format", "explicit", "--json",
                                 check=True).stdout)["result"]
    assert doc["output"] is None and "# platform:" in doc["content"]
    assert "\n@EXPLICIT\n" in doc["content"]
    doc = json.loads(sandbox.run("lock", "ex", "--json", check=True).stdout)["result"]
    assert doc["content"] is None and doc["lockfile"] == str(lock_yml)
    proc = sandbox.run("lock", "ex", "--format", "explicit", "-o", str(tmp_path))
    assert proc.returncode == 2 and "is a directory" in proc.stderr


def test_environment_file_channels_are_relative_to_the_file_and_merged_with_c(
        sandbox: Sandbox, demo_channel: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(demo_channel, project / "chan")
    yml = project / "environment.yml"
    yml.write_text("name: rel\nchannels:\n  - ./chan\ndependencies:\n  - demo-tool\n")
    # run from somewhere else: ./chan is the file's neighbour, not the cwd's
    sandbox.run("create", "--file", str(yml), "--no-managers", check=True)
    manifest = json.loads((sandbox.root / "rel" / ".mambaboot" / "env.json").read_text())
    assert manifest["channels"] == [(project / "chan").as_uri()]
    # -c is added in front of the file's channels, and it says so
    yml.write_text("name: both\nchannels:\n  - ./chan\ndependencies:\n  - demo-tool\n")
    proc = sandbox.run("create", "--file", str(yml), "--no-managers", "-c", str(demo_channel),
                       check=True)
    assert "(from -c), then ./chan" in proc.stderr.replace(str(project / "chan"), "./chan")
    manifest = json.loads((sandbox.root / "both" / ".mambaboot" / "env.json").read_text())
    assert manifest["channels"] == [demo_channel.as_uri(), (project / "chan").as_uri()]
