"""The demo channel's conda and mamba are the real programs, and they run in a created env.

Issue 12: stand-ins that print a version hid everything a real conda does.  These
smoke tests make one environment through the CLI (root with spaces and
non-ASCII letters, sealed HOME) and run the real conda 25.9.1 and mamba 2.3.3
in it.  The seed's step 2 (install/remove through them) is tested elsewhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mambaboot import devchannel
from mambaboot.devchannel import build as build_mod
from mambaboot.devchannel import realpkgs, wheels
from tests.support.sandbox import Sandbox
from tests.support.scratch import scratch_dir

MATERIAL = devchannel.find_shared_dir()
pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or MATERIAL is None or not MATERIAL.has_conda
    or MATERIAL.mamba_binary is None,
    reason="needs Linux and the real conda/mamba material (../shared or $MAMBABOOT_SHARED_DIR)")


@pytest.fixture(scope="module")
def real_env(request: pytest.FixtureRequest, demo_channel: Path,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[Sandbox, str]:
    """One environment with python, the real conda and mamba, and demo-noarch."""
    sandbox = Sandbox.make(scratch_dir(request, tmp_path_factory, "real-managers"))
    sandbox.run("create", "real", "-c", str(demo_channel), "--with", "demo-noarch", check=True)
    return sandbox, str(sandbox.root / "real")


def inside(env: tuple[Sandbox, str], *argv: str) -> str:
    sandbox, prefix = env
    proc = sandbox.run("run", prefix, "--", *argv, timeout=120)
    assert proc.returncode == 0, (argv, proc.stdout, proc.stderr)
    return proc.stdout.strip()


def test_conda_is_the_real_one(real_env: tuple[Sandbox, str]) -> None:
    assert inside(real_env, "conda", "--version") == f"conda {devchannel.REAL_CONDA_VERSION}"
    listed = inside(real_env, "conda", "list")
    for name in ("conda", "mamba", "python", "conda-rattler-solver", "py-rattler", "requests"):
        assert f"\n{name} " in listed, name
    where = inside(real_env, "python", "-c", "import conda, conda_rattler_solver, rattler;"
                                             "print(conda.__version__); print(conda.__file__)")
    version, path = where.splitlines()
    assert version == devchannel.REAL_CONDA_VERSION
    assert path.startswith(real_env[1]), "conda must be imported from the environment"


def test_mamba_is_the_real_one(real_env: tuple[Sandbox, str]) -> None:
    assert inside(real_env, "mamba", "--version") == devchannel.REAL_MAMBA_VERSION
    hook = (Path(real_env[1]) / "etc" / "profile.d" / "mamba.sh").read_text(encoding="utf-8")
    assert f'"{real_env[1]}/bin/mamba"' in hook and devchannel.POSIX_PLACEHOLDER not in hook


def test_conda_init_files_are_relocated(real_env: tuple[Sandbox, str]) -> None:
    prefix = Path(real_env[1])
    for rel in ("bin/conda", "condabin/conda", "etc/profile.d/conda.sh",
                "etc/fish/conf.d/conda.fish", "shell/condabin/conda-hook.ps1"):
        text = (prefix / rel).read_text(encoding="utf-8")
        assert devchannel.POSIX_PLACEHOLDER not in text, rel
    conda_sh = (prefix / "etc" / "profile.d" / "conda.sh").read_text(encoding="utf-8")
    assert f"export CONDA_EXE='{prefix}/bin/conda'" in conda_sh
    assert f"export CONDA_PYTHON_EXE='{prefix}/bin/python'" in conda_sh
    assert inside(real_env, str(prefix / "condabin" / "conda"), "--version").startswith("conda ")


def test_noarch_entry_points_run(real_env: tuple[Sandbox, str]) -> None:
    prefix = real_env[1]
    noarch = inside(real_env, "demo-noarch")
    assert noarch == f"demo-noarch {devchannel.DEMO_NOARCH_VERSION} on {prefix}"
    assert "usage: cph" in inside(real_env, "cph", "--help")  # conda-package-handling's script
    assert inside(real_env, "tqdm", "--version")
    assert Path(prefix, "bin", "cph").is_file()


# --- the repackager, without the network --------------------------------------------


def _wheel(tmp: Path, name: str, files: dict[str, str], meta: str, pure: bool = True) -> Path:
    import zipfile

    dist = f"{name}-1.0.dist-info"
    path = tmp / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for rel, text in files.items():
            zf.writestr(rel, text)
        zf.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
                                        + meta)
        zf.writestr(f"{dist}/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: {str(pure).lower()}\n")
        zf.writestr(f"{dist}/entry_points.txt", "[console_scripts]\ntool = pkg.cli:main\n")
        zf.writestr(f"{dist}/RECORD", "")
    return path


def test_wheel_becomes_noarch_python(tmp_path: Path) -> None:
    meta = ("Requires-Python: >=3.9\nRequires-Dist: dep-a>=1.2,<2\n"
            "Requires-Dist: dep_b; python_version < '3'\n"
            "Requires-Dist: docs-only; extra == 'docs'\n")
    wheel = wheels.Wheel.read("pkg", _wheel(tmp_path, "pkg", {"pkg/__init__.py": "x = 1\n"}, meta))
    spec = wheels.wheel_package(wheel, {"dep-a": "dep.a", "dep-b": "dep-b", "docs-only": "d"})
    assert spec.noarch == "python" and spec.subdir == "noarch" and spec.fmt == "conda"
    assert spec.depends == ["dep.a <2,>=1.2", "python >=3.9"]
    assert spec.entry_points == ["tool = pkg.cli:main"]
    assert "site-packages/pkg/__init__.py" in spec.files
    assert spec.files["site-packages/pkg-1.0.dist-info/INSTALLER"] == b"conda\n"


def test_binary_wheel_is_per_python(tmp_path: Path) -> None:
    path = _wheel(tmp_path, "native", {"native/_c.so": "ELF"}, "", pure=False)
    spec = wheels.wheel_package(wheels.Wheel.read("native", path), {})
    assert spec.noarch is None and spec.subdir == devchannel.current_subdir()
    assert spec.depends == [f"python {wheels.PY_XY}.*"]
    script = spec.files["bin/tool"]
    assert isinstance(script, devchannel.FileSpec) and script.placeholder
    assert f"lib/python{wheels.PY_XY}/site-packages/native/_c.so" in spec.files


def test_unpinned_requirement_is_an_error(tmp_path: Path) -> None:
    path = _wheel(tmp_path, "pkg", {}, "Requires-Dist: nowhere\n")
    with pytest.raises(wheels.WheelError, match="nowhere"):
        wheels.wheel_package(wheels.Wheel.read("pkg", path), {})


def test_shared_dir_from_environment_and_fallback_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert MATERIAL is not None
    monkeypatch.setenv(realpkgs.SHARED_ENV, str(MATERIAL.root))
    assert realpkgs.candidates()[0] == MATERIAL.root
    found = realpkgs.find_shared_dir()
    assert found is not None and found.root == MATERIAL.root and len(found.digests()) == 3

    monkeypatch.setattr(realpkgs, "candidates", lambda: [tmp_path / "empty"])
    assert realpkgs.find_shared_dir() is None
    items = build_mod.demo_specs(material=None, wheel_cache=tmp_path / "wheels", say=True)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "STAND-IN conda and mamba" in err[0]
    names = {(s.name, s.version) for s in items if isinstance(s, devchannel.PackageSpec)}
    assert ("conda", devchannel.STANDIN_CONDA_VERSION) in names
    assert ("mamba", devchannel.STANDIN_MAMBA_VERSION) in names
