from __future__ import annotations

from pathlib import Path

import pytest

from mambaboot.errors import UsageError
from mambaboot.locations import (
    prefix_dirname,
    resolve_cache,
    resolve_env,
    resolve_root,
    validate_name,
    validate_pyver,
)


@pytest.mark.parametrize(("name", "pyver", "expected"), [
    ("my_env", "3.12", "my_env_3_12"),
    ("my_env", "3.12.1", "my_env_3_12_1"),
    ("my_env", "3", "my_env_3"),
    ("py", None, "py"),
    ("data-env.v2", None, "data-env.v2"),
])
def test_prefix_naming_follows_the_seed_script(name: str, pyver: str | None, expected: str) -> None:
    assert prefix_dirname(name, pyver) == expected


BAD_NAMES = ["", "   ", "a/b", "a\\b", "..", "a..b", "CON", "nul", "com1", "LPT9.txt", "a<b",
             "a>b", "a:b", 'a"b', "a|b", "a?b", "a*b", "ends.", "ends ", "x" * 101, "tab\tname"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_usage_errors_with_a_fix(name: str) -> None:
    with pytest.raises(UsageError) as info:
        validate_name(name)
    assert info.value.exit_code == 2
    message = info.value.message
    assert message.endswith(".") and "\n" not in message
    assert "use" in message  # every message names the fix


@pytest.mark.parametrize("pyver", ["abc", "3.x", "3.12;rm -rf /", "2.7", "3.", "3.12.1.4", ""])
def test_bad_python_versions(pyver: str) -> None:
    with pytest.raises(UsageError, match=r"not of the form 3, 3\.12 or 3\.12\.1"):
        validate_pyver(pyver)


def test_root_precedence(tmp_path: Path) -> None:
    env = {"MAMBABOOT_ROOT": str(tmp_path / "a"), "PY_ENVS": str(tmp_path / "b")}
    assert resolve_root(tmp_path / "flag", env) == tmp_path / "flag"
    assert resolve_root(None, env) == tmp_path / "a"
    assert resolve_root(None, {"PY_ENVS": str(tmp_path / "b")}) == tmp_path / "b"
    assert resolve_root(None, {}) == Path.cwd()


def test_cache_precedence(tmp_path: Path) -> None:
    root = tmp_path / "root"
    env = {"MAMBABOOT_CACHE": str(tmp_path / "mc"), "CONDA_PKGS_DIRS": f"{tmp_path / 'p1'},x"}
    assert resolve_cache(tmp_path / "flag", root, env).pkgs == tmp_path / "flag" / "pkgs"
    assert resolve_cache(None, root, env).pkgs == tmp_path / "mc" / "pkgs"
    from_conda = resolve_cache(None, root, {"CONDA_PKGS_DIRS": f"{tmp_path / 'p1'},x"})
    assert from_conda.pkgs == tmp_path / "p1"
    assert from_conda.root == root / ".cache"  # our other data stays beside the root
    assert resolve_cache(None, root, {}).pkgs == root / ".cache" / "pkgs"


def test_env_argument_is_a_name_or_a_path(tmp_path: Path) -> None:
    assert resolve_env("my_env_3_12", tmp_path) == tmp_path / "my_env_3_12"
    assert resolve_env(str(tmp_path / "x"), Path("/elsewhere")) == tmp_path / "x"
    with pytest.raises(UsageError):
        resolve_env("CON", tmp_path)
