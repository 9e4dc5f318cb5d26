"""The activation model: conda's PATH order, stored relative, activate.d measured, recomputed."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from mambaboot.activation import activate_d, env_delta
from mambaboot.activation.env_delta import PREFIX_TOKEN


def test_path_order_matches_conda_on_each_platform(prefix: Path) -> None:
    assert env_delta.base(prefix, "demo", windows=False).path == ("bin", "condabin")
    assert env_delta.base(prefix, "demo", windows=True).path == (
        "", "Library/mingw-w64/bin", "Library/usr/bin", "Library/bin", "Scripts", "bin",
        "condabin")


def test_stored_activation_has_base_variables_and_measured_activate_d(prefix: Path) -> None:
    act = env_delta.load(prefix)
    assert act is not None
    assert act.variables == {"CONDA_PREFIX": PREFIX_TOKEN, "CONDA_DEFAULT_ENV": "demo",
                             "CONDA_SHLVL": "1", "CONDA_PROMPT_MODIFIER": "(demo) ",
                             "MAMBABOOT_ENV": PREFIX_TOKEN}
    assert act.scripted == {"DEMO_ACTIVATED": "1", "DEMO_HOME": f"{PREFIX_TOKEN}/share/demo"}
    raw = (prefix / ".mambaboot" / "activation.json").read_text(encoding="utf-8")
    assert str(prefix) not in raw  # relative to the prefix: true after a move
    assert json.loads(raw)["version"] == env_delta.FORMAT_VERSION


def test_apply_resolves_the_token_at_the_current_place(prefix: Path, tmp_path: Path) -> None:
    act = env_delta.load(prefix)
    assert act is not None
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
    env = {**os.environ, "DROPME": "x"}
    measured = activate_d.diff(base, prefix, env_delta.apply(base, prefix, env),
                               activate_d._run_posix(activate_d.scripts(prefix),
                                                     env_delta.apply(base, prefix, env)))
    assert measured.extra_path == (f"{PREFIX_TOKEN}/tools",)
    assert measured.unset == ("DROPME",)
    assert measured.scripted["QUOTED"] == 'a "b" $c'
    out = env_delta.apply(measured, prefix, {"PATH": "/usr/bin", "DROPME": "x"})
    assert out["PATH"].split(os.pathsep)[:2] == [f"{prefix}/tools", f"{prefix}/bin"]
    assert "DROPME" not in out


def test_a_failing_activate_d_script_leaves_the_base_activation(prefix: Path) -> None:
    (prefix / "etc" / "conda" / "activate.d" / "broken.sh").write_text("exit 3\n")
    act = env_delta.compute(prefix, "demo")
    assert act.scripted == {} and act.variables["CONDA_SHLVL"] == "1"


def test_current_recomputes_when_conda_meta_changes(prefix: Path) -> None:
    first = env_delta.current(prefix)
    assert "NEW_PKG_VAR" not in first.scripted
    # what `conda install` inside the env does: new files, a new conda-meta record
    (prefix / "etc" / "conda" / "activate.d" / "new.sh").write_text("export NEW_PKG_VAR=yes\n")
    assert env_delta.current(prefix).stamp == first.stamp  # unchanged meta: stored is used
    time.sleep(0.01)
    (prefix / "conda-meta" / "newpkg-1.0-0.json").write_text("{}")
    fresh = env_delta.current(prefix)
    assert fresh.scripted["NEW_PKG_VAR"] == "yes"
    assert env_delta.load(prefix) == fresh  # and stored again


def test_unreadable_or_old_format_is_recomputed(prefix: Path) -> None:
    (prefix / ".mambaboot" / "activation.json").write_text('{"version": 1}')
    assert env_delta.load(prefix) is None
    assert env_delta.current(prefix).scripted["DEMO_ACTIVATED"] == "1"
