"""End to end: ``mambaboot create`` a real env, then every activation script, before and after
moving its root (which has spaces and non-ASCII characters)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mambaboot.devchannel import PYTHON_VERSION
from tests.support.sandbox import Sandbox, demo_env, real_micromamba
from tests.support.scratch import scratch_dir
from tests.support.wine import Wine
from tests.unit.activation.test_scripts_batch import run_cycle, windows_entries
from tests.unit.activation.test_scripts_posix import activate_and_deactivate, same

PYVER = ".".join(PYTHON_VERSION.split(".")[:2])
ENVDIR = "demo_" + PYVER.replace(".", "_")


@pytest.fixture(scope="module", params=["rattler", "micromamba"])
def made(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         demo_channel: Path) -> Iterator[tuple[Sandbox, Path]]:
    """One real env per engine (the micromamba one with the real binary from ../shared)."""
    engine, server = None, None
    if request.param == "micromamba":
        found = real_micromamba(tmp_path_factory.mktemp("micromamba-mirror"))
        if found is None:
            pytest.skip("no real micromamba in ../shared (or MAMBABOOT_TEST_MICROMAMBA)")
        engine, server = found
    templates = tmp_path_factory.mktemp("templates")
    (templates / "__home__").mkdir(parents=True)
    (templates / "__home__" / "settings.ini").write_text("[x]\n")
    (templates / "bin").mkdir()
    (templates / "bin" / "python").write_text("not the engine's python")
    try:
        yield demo_env(scratch_dir(request, tmp_path_factory, "realenv"), demo_channel,
                       "--template", str(templates / "__home__"),
                       "--template", str(templates / "bin"), engine=engine)
    finally:
        if server is not None:
            server.close()  # type: ignore[attr-defined]


@pytest.fixture
def moved(made: tuple[Sandbox, Path], tmp_path: Path) -> Path:
    """A copy of the env whose root was then renamed (a copy keeps the module's env intact)."""
    _, prefix = made
    first = tmp_path / "first root èрт" / ENVDIR
    shutil.copytree(prefix, first, symlinks=True)
    final = tmp_path / "renamed root & co 中"
    first.parent.rename(final)
    return final / ENVDIR


def test_create_wrote_every_script_and_copied_templates(made: tuple[Sandbox, Path]) -> None:
    _, prefix = made
    for name in ("activate.sh", "activate.fish", "activate.bat", "deactivate.bat",
                 "activate.ps1"):
        assert str(prefix).encode() not in (prefix / name).read_bytes()
    assert (prefix / "__home__" / "settings.ini").read_text() == "[x]\n"
    assert (prefix / "bin" / "python").read_bytes().startswith(b"\x7fELF")  # never overwritten


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_posix_scripts_on_the_real_env_and_after_moving(shell: str, made: tuple[Sandbox, Path],
                                                        moved: Path) -> None:
    sandbox, prefix = made
    home = Path(sandbox.env["HOME"])
    for where in (prefix, moved):
        before, active, after, err = activate_and_deactivate(shell, where, home)
        assert same(active["CONDA_PREFIX"], where), err
        assert active["PATH"].split(":")[:2] == [f"{where}/bin", f"{where}/condabin"]
        assert active["DEMO_ACTIVATED"] == "1"
        assert active["DEMO_HOME"] == f"{active['CONDA_PREFIX']}/share/demo"
        assert after["PATH"] == before["PATH"] and "DEMO_ACTIVATED" not in after


def test_batch_scripts_on_the_real_env_and_after_moving(wine: Wine, made: tuple[Sandbox, Path],
                                                        moved: Path) -> None:
    _, prefix = made
    for where in (prefix, moved):
        before, active, after = run_cycle(wine, where)
        assert active["CONDA_PREFIX"] == wine.windows_path(where)
        assert active["PATH"].split(";")[:7] == windows_entries(wine, where)
        assert active["DEMO_ACTIVATED"] == "1"
        assert active["DEMO_HOME"] == wine.windows_path(where) + "\\share\\demo"
        assert after["PATH"] == before["PATH"] and "DEMO_ACTIVATED" not in after
