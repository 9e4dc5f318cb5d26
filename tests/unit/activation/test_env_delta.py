"""The activation model: conda's PATH order, stored relative, activate.d measured, recomputed.

``prepare`` (create) never runs activate.d scripts; ``measured`` (run) does,
bounded in time, in a process group that is killed afterwards.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

import pytest

from mambaboot.activation import activate_d, env_delta, fresh
from mambaboot.activation.env_delta import PREFIX_TOKEN
from mambaboot.errors import ActivateScriptTimeoutError, UsageError
from tests.support.prefixes import processes_with

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")


def add_script(prefix: Path, name: str, text: str) -> Path:
    script = prefix / "etc" / "conda" / "activate.d" / name
    script.write_text(text, encoding="utf-8")
    return script


def test_path_order_matches_conda_on_each_platform(prefix: Path) -> None:
    assert env_delta.base(prefix, "demo", windows=False).path == ("bin", "condabin")
    assert env_delta.base(prefix, "demo", windows=True).path == (
        "", "Library/mingw-w64/bin", "Library/usr/bin", "Library/bin", "Scripts", "bin",
        "condabin")


def test_prepare_stores_the_static_activation_and_runs_no_script(prefix: Path) -> None:
    act = env_delta.load(prefix)
    assert act is not None
    assert act.variables == {"CONDA_PREFIX": PREFIX_TOKEN, "CONDA_DEFAULT_ENV": "demo",
                             "CONDA_SHLVL": "1", "CONDA_PROMPT_MODIFIER": "(demo) ",
                             "MAMBABOOT_ENV": PREFIX_TOKEN}
    assert not act.measured and act.scripted == {}
    raw = (prefix / ".mambaboot" / "activation.json").read_text(encoding="utf-8")
    assert str(prefix) not in raw  # relative to the prefix: true after a move
    assert json.loads(raw)["version"] == env_delta.FORMAT_VERSION
    assert json.loads(raw)["activate_d"] is None  # "not measured yet", not "sets nothing"


def test_current_never_runs_scripts_and_measured_does_and_stores(prefix: Path,
                                                                 tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    add_script(prefix, "marker.sh", f'echo x >> "{marker}"\n')
    assert not fresh.current(prefix).measured and not marker.exists()  # what verify uses
    act = fresh.measured(prefix)
    assert act.measured and marker.read_text() == "x\n"
    assert act.scripted == {"DEMO_ACTIVATED": "1", "DEMO_HOME": f"{PREFIX_TOKEN}/share/demo"}
    assert env_delta.load(prefix) == act
    assert fresh.measured(prefix) == act and marker.read_text() == "x\n"  # stored: once
    assert fresh.current(prefix) == act  # verify sees the measured effects once known


def test_an_env_without_activate_d_scripts_is_measured_from_the_start(tmp_path: Path) -> None:
    from mambaboot import activation
    from tests.support.prefixes import make_prefix

    bare = make_prefix(tmp_path / "bare")
    for script in (bare / "etc" / "conda" / "activate.d").iterdir():
        script.unlink()
    activation.prepare(bare, "bare")
    stored = env_delta.load(bare)
    assert stored is not None and stored.measured and stored.scripted == {}


def test_a_version_2_file_counts_as_measured(prefix: Path) -> None:
    data = fresh.measured(prefix).to_json()
    data["version"] = 2
    (prefix / ".mambaboot" / "activation.json").write_text(json.dumps(data))
    loaded = env_delta.load(prefix)
    assert loaded is not None and loaded.measured and loaded.scripted["DEMO_ACTIVATED"] == "1"


def test_apply_resolves_the_token_at_the_current_place(prefix: Path, tmp_path: Path) -> None:
    act = fresh.measured(prefix)
    moved = tmp_path / "elsewhere"
    env = env_delta.apply(act, moved, {"PATH": "/usr/bin", "KEEP": "1"})
    assert env["PATH"] == os.pathsep.join([str(moved / "bin"), str(moved / "condabin"),
                                           "/usr/bin"])
    assert env["CONDA_PREFIX"] == str(moved) and env["DEMO_HOME"] == f"{moved}/share/demo"
    assert env["KEEP"] == "1"


def test_activate_d_path_prepends_and_unsets_are_measured(prefix: Path) -> None:
    script = prefix / "etc" / "conda" / "activate.d" / "zz-more.sh"
    script.write_text('export PATH="$CONDA_PREFIX/tools:$PATH"\nunset DROPME\n'
                      "export QUOTED='a \"b\" $c'\n", encoding="utf-8")
    base = env_delta.base(prefix, "demo")
    before = env_delta.apply(base, prefix, {**os.environ, "DROPME": "x"})
    after = before
    for script in activate_d.scripts(prefix):
        after = activate_d.run_script(script, after, 10)
    measured = activate_d.diff(base, prefix, before, after)
    assert measured.extra_path == (f"{PREFIX_TOKEN}/tools",)
    assert measured.unset == ("DROPME",)
    assert measured.scripted["QUOTED"] == 'a "b" $c'
    out = env_delta.apply(measured, prefix, {"PATH": "/usr/bin", "DROPME": "x"})
    assert out["PATH"].split(os.pathsep)[:2] == [f"{prefix}/tools", f"{prefix}/bin"]
    assert "DROPME" not in out


def test_a_script_that_exits_is_skipped_with_a_warning_and_others_still_count(
        prefix: Path, capfd: pytest.CaptureFixture[str]) -> None:
    broken = add_script(prefix, "broken.sh", "export HALF=1\necho from-broken\nexit 3\n")
    add_script(prefix, "zz-after.sh", "false\n")  # a non-zero last command is not a failure
    act = fresh.compute(prefix, "demo", run_scripts=True)
    assert act.measured and "HALF" not in act.scripted
    assert act.scripted["DEMO_ACTIVATED"] == "1" and act.variables["CONDA_SHLVL"] == "1"
    out, err = capfd.readouterr()
    assert out == ""  # script output never reaches the stdout of the command run starts
    assert "from-broken" in err
    warnings = [line for line in err.splitlines() if line.startswith("mambaboot: warning")]
    assert warnings == [f"mambaboot: warning: the activate.d script {broken} ended its shell "
                        "(exit 3); what it sets is left out (fix or remove that package)."]


@linux_only
def test_a_hanging_script_is_stopped_with_its_children_and_named(
        prefix: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = uuid.uuid4().hex
    hang = add_script(prefix, "hang.sh", f"export PROBE={token}\nsleep 1000 &\nsleep 1000\n")
    monkeypatch.setenv(activate_d.TIMEOUT_VAR, "1")
    started = time.monotonic()
    with pytest.raises(ActivateScriptTimeoutError) as caught:
        fresh.measured(prefix)
    assert time.monotonic() - started < 4
    assert str(caught.value) == (
        f"The activate.d script {hang} did not finish within 1 s and was stopped with every "
        "process it started; fix or remove that package, or allow more time with "
        "MAMBABOOT_ACTIVATE_TIMEOUT=SECONDS.")
    assert processes_with(token) == []
    stored = env_delta.load(prefix)
    assert stored is not None and not stored.measured  # tried again next time


@linux_only
def test_background_processes_die_after_measuring_even_outside_the_group(
        prefix: Path) -> None:
    token = uuid.uuid4().hex
    add_script(prefix, "bg.sh", f"export PROBE={token}\nsleep 1000 &\n"
                                "setsid sh -c 'sleep 1000; :' &\nexport BG=started\n")
    act = fresh.measured(prefix)
    assert act.scripted["BG"] == "started"
    assert processes_with(token) == []
    assert not any(k.startswith("_MAMBABOOT") for k in act.scripted)  # our marker is not leaked


@pytest.mark.parametrize("value", ["abc", "0", "-5", "inf"])
def test_a_bad_timeout_variable_is_a_usage_error(value: str) -> None:
    with pytest.raises(UsageError, match="MAMBABOOT_ACTIVATE_TIMEOUT"):
        activate_d.timeout({activate_d.TIMEOUT_VAR: value})
    assert activate_d.timeout({}) == activate_d.DEFAULT_TIMEOUT == 30
    assert activate_d.timeout({activate_d.TIMEOUT_VAR: " 2.5 "}) == 2.5


def test_measured_recomputes_when_conda_meta_changes(prefix: Path) -> None:
    first = fresh.measured(prefix)
    assert "NEW_PKG_VAR" not in first.scripted
    # what `conda install` inside the env does: new files, a new conda-meta record
    (prefix / "etc" / "conda" / "activate.d" / "new.sh").write_text("export NEW_PKG_VAR=yes\n")
    assert fresh.measured(prefix) == first  # unchanged meta: stored is used
    time.sleep(0.01)
    (prefix / "conda-meta" / "newpkg-1.0-0.json").write_text("{}")
    again = fresh.measured(prefix)
    assert again.scripted["NEW_PKG_VAR"] == "yes"
    assert env_delta.load(prefix) == again  # and stored again


def test_unreadable_or_old_format_is_recomputed(prefix: Path) -> None:
    (prefix / ".mambaboot" / "activation.json").write_text('{"version": 1}')
    assert env_delta.load(prefix) is None
    assert fresh.measured(prefix).scripted["DEMO_ACTIVATED"] == "1"
