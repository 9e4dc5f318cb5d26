"""``mambaboot.api`` in-process: a real create from the demo channel, then every call on it.

Also what the API promises about itself: keyword-only arguments, nothing
printed, cheap to import, and never imported by ``mambaboot run``.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from mambaboot import api
from mambaboot.devchannel.catalog import DEMO_TOOL_OUTPUT
from mambaboot.errors import NotAnEnvironmentError, UsageError
from mambaboot.results import (
    BundleResult,
    CreateResult,
    DoctorReport,
    ListResult,
    LockResult,
    RemoveResult,
    VerifyReport,
)
from mambaboot.spec import create_request

HEAVY = ("rattler", "rich", "httpx", "yaml")


def _modules_after(code: str) -> dict[str, bool]:
    probe = (f"import json, sys\n{code}\n"
             "print(json.dumps({m: any(k == m or k.startswith(m + '.') for k in sys.modules) "
             f"for m in {[*HEAVY, 'mambaboot.api', 'mambaboot.results']!r}}}))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_mambaboot_and_the_api_loads_nothing_heavy() -> None:
    loaded = _modules_after("import mambaboot, mambaboot.api")
    assert [m for m in HEAVY if loaded[m]] == []
    assert loaded["mambaboot.api"]


def test_run_does_not_import_the_api(tmp_path: Path) -> None:
    loaded = _modules_after(
        "from mambaboot.cli import main\n"
        f"main(['run', '--root', {str(tmp_path)!r}, 'nope', '--', 'python'])")
    assert not loaded["mambaboot.api"] and not loaded["mambaboot.results"]
    assert [m for m in HEAVY if loaded[m]] == []


@pytest.mark.parametrize("name", api.__all__)
def test_every_function_takes_keywords_only(name: str) -> None:
    function = getattr(api, name)
    if not inspect.isfunction(function):
        return
    kinds = {p.kind for p in inspect.signature(function).parameters.values()}
    assert kinds <= {inspect.Parameter.KEYWORD_ONLY}, name


def test_a_whole_life_through_the_api(tmp_path: Path, demo_channel: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "envs"
    events: list[str] = []
    created = api.create(path=root / "tools", channels=[str(demo_channel)], managers=False,
                         specs=["demo-tool"], progress=lambda event, _data: events.append(event))
    assert isinstance(created, CreateResult)
    assert created.prefix == root / "tools" and created.name == "tools"
    assert created.lockfile.is_file() and created.package_cache == root / ".cache" / "pkgs"
    assert {"solve-start", "verify"} <= set(events)

    plan = api.run_plan(env="tools", root=root, argv=["demo-tool"])
    assert Path(plan.executable).is_relative_to(root / "tools")
    assert plan.env["CONDA_PREFIX"] == str(root / "tools")
    ran = subprocess.run([plan.executable, *plan.argv[1:]], env=plan.env, capture_output=True,
                         text=True, check=True)
    assert ran.stdout.strip() == DEMO_TOOL_OUTPUT

    report = api.verify(env=root / "tools")  # a Path is always a path
    assert isinstance(report, VerifyReport) and report.ok
    listed = api.list_envs(root=root)
    assert isinstance(listed, ListResult)
    assert [(e.name, e.status) for e in listed.environments] == [("tools", "ok")]

    explicit = api.lock(env="tools", root=root, format="explicit")
    assert isinstance(explicit, LockResult) and explicit.output is None
    assert explicit.content is not None and "\n@EXPLICIT\n" in explicit.content
    refreshed = api.lock(env="tools", root=root)
    assert refreshed.content is None and refreshed.lockfile == created.lockfile
    written = api.lock(env="tools", root=root, format="environment-yml",
                       output=tmp_path / "environment.yml")
    assert written.content is None and "demo-tool" in (tmp_path / "environment.yml").read_text()

    bundled = api.bundle(env="tools", root=root, out=tmp_path / "tools.tar")
    assert isinstance(bundled, BundleResult) and bundled.packages == created.package_count
    with tarfile.open(bundled.bundle) as tar:
        assert "lock.yml" in tar.getnames()

    rebuilt = api.create(name="rebuilt", root=root, from_bundle=bundled.bundle)
    assert rebuilt.package_count == created.package_count

    plan_only = api.remove(env="tools", root=root, dry_run=True)
    assert isinstance(plan_only, RemoveResult) and not plan_only.removed
    assert (root / "tools").is_dir()
    for name in ("tools", "rebuilt"):
        assert api.remove(env=name, root=root).removed
    assert api.list_envs(root=root).environments == ()
    assert (root / ".cache" / "pkgs").is_dir()  # the shared cache stays
    assert capsys.readouterr() == ("", "")  # the library prints nothing


def test_errors_are_raised_not_printed(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="looks like a Python version"):
        api.create(name="3.11", root=tmp_path)
    with pytest.raises(UsageError, match="name or its path"):
        api.create(name="a", path=tmp_path / "a", root=tmp_path)
    with pytest.raises(NotAnEnvironmentError):
        api.verify(env="missing", root=tmp_path)
    with pytest.raises(UsageError, match="does not exist"):
        api.list_envs(root=tmp_path / "nowhere")
    with pytest.raises(UsageError, match="lock format"):
        api.lock(env=tmp_path, format="yaml")
    assert capsys.readouterr() == ("", "")


def test_doctor_reads_the_environment_it_is_given(tmp_path: Path) -> None:
    report = api.doctor(root=tmp_path, environ={"VIRTUAL_ENV": "/elsewhere", "PATH": "",
                                                "HOME": str(tmp_path)})
    assert isinstance(report, DoctorReport) and not report.ok
    assert [f.kind for f in report.findings] == ["active-variable"]


def test_create_request_merges_a_file_after_the_channels_given(tmp_path: Path) -> None:
    (tmp_path / "chan" / "noarch").mkdir(parents=True)
    (tmp_path / "chan" / "noarch" / "repodata.json").write_text("{}")
    envfile = tmp_path / "environment.yml"
    envfile.write_text("name: from-file\nchannels: [./chan]\ndependencies: [numpy]\n")
    request, warnings = create_request(file=envfile, channels=["http://mirror.example/ch"],
                                       python="3.12")
    assert request.name == "from-file_3_12"
    assert request.channels == ("http://mirror.example/ch", (tmp_path / "chan").as_uri())
    assert request.specs == ["numpy", "python", "pip", "conda", "mamba"]
    assert [w.split(" ", 1)[0] for w in warnings] == ["channels:", "warning:"]


def test_create_request_from_a_lock_takes_no_specs(tmp_path: Path) -> None:
    lock = tmp_path / "lock.yml"
    lock.write_text("version: 6\n")
    with pytest.raises(UsageError, match="exactly what the lock says"):
        create_request(from_lock=lock, specs=["numpy"])
    request, warnings = create_request(name="again", from_lock=lock)
    assert (request.lock, request.specs, request.channels, warnings) == (str(lock), [], (), ())
