from __future__ import annotations

import os
from pathlib import Path

import pytest

from mambaboot.errors import UsageError
from mambaboot.locations import (
    Cache,
    check_layout,
    prefix_dirname,
    require_root_dir,
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


@pytest.mark.parametrize("pyver", ["abc", "3.x", "3.12;rm -rf /", "3.", "3.12.1.4", ""])
def test_bad_python_versions(pyver: str) -> None:
    with pytest.raises(UsageError, match=r"not of the form 3, 3\.12 or 3\.12\.1"):
        validate_pyver(pyver)


@pytest.mark.parametrize("pyver", ["2.7", "2", "4.0"])
def test_other_major_versions_say_python_3(pyver: str) -> None:
    with pytest.raises(UsageError, match=r"makes Python 3 environments"):
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


@pytest.mark.parametrize("value", ["{a}:{b}", "{a},{b}", " {a} , {b}", ":{a}", ",{a},"])
def test_conda_pkgs_dirs_is_split_like_conda_and_the_first_entry_wins(value: str,
                                                                      tmp_path: Path) -> None:
    value = value.replace(":", os.pathsep).format(a=tmp_path / "a", b=tmp_path / "b")
    cache = resolve_cache(None, tmp_path / "root", {"CONDA_PKGS_DIRS": value})
    assert cache.pkgs == tmp_path / "a"


@pytest.mark.parametrize("option", ["--root", "--cache"])
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_option_is_bad_input_not_the_default(option: str, value: str,
                                                      tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=rf"^{option} is empty; give a folder"):
        if option == "--root":
            resolve_root(value, {})
        else:
            resolve_cache(value, tmp_path, {})


def test_empty_variables_count_as_unset(tmp_path: Path) -> None:
    assert resolve_root(None, {"MAMBABOOT_ROOT": "", "PY_ENVS": str(tmp_path)}) == tmp_path
    assert resolve_cache(None, tmp_path, {"MAMBABOOT_CACHE": "", "CONDA_PKGS_DIRS": ""}).pkgs \
        == tmp_path / ".cache" / "pkgs"


def _cache(path: Path) -> Cache:
    return Cache(root=path, pkgs=path / "pkgs")


@pytest.mark.parametrize(("cache", "words"), [
    ("root", "is the cache"),                    # root equal to the cache
    ("root/..", "is the cache"),                 # root inside the cache
    ("root/envcache", "inside the environments root"),  # a visible folder could become an env
])
def test_overlapping_root_and_cache_are_refused(tmp_path: Path, cache: str, words: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(UsageError, match=words) as info:
        check_layout(root, _cache(Path(os.path.normpath(tmp_path / cache))))
    assert info.value.exit_code == 2 and str(root) in info.value.message


def test_the_default_hidden_cache_in_the_root_is_fine_but_not_as_an_environment(
        tmp_path: Path) -> None:
    root = tmp_path / "root"
    check_layout(root, _cache(root / ".cache"))
    check_layout(root, _cache(tmp_path / "elsewhere"), root / "env")
    with pytest.raises(UsageError, match="would overlap the cache"):
        check_layout(root, _cache(root / ".cache"), root / ".cache")


def test_overlap_is_judged_on_real_paths(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    alias = tmp_path / "alias"
    alias.symlink_to(root, target_is_directory=True)
    with pytest.raises(UsageError, match="is the cache"):
        check_layout(root, _cache(alias))


def test_a_missing_or_file_root_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        resolve_env("env", tmp_path / "missing")
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        resolve_env("env", tmp_path / "file")
    assert require_root_dir(tmp_path / "missing", must_exist=False) == tmp_path / "missing"


@pytest.mark.parametrize("given", [
    "/abs/env", "/abs/env/", "/abs//env", "/abs/./env", "/abs/x/../env", "//net/env", "/",
    "rel/env", "./env", "../env", "~/envs/x", "~", "/abs/env with space èрт 中", "env",
])
def test_the_string_paths_of_run_are_the_paths_pathlib_gives(
        given: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``run`` resolves without pathlib; every answer must be pathlib's, character for
    character (CONDA_PREFIX and PATH are built from it)."""
    from mambaboot.locations import _absolute, env_dir, resolve_env, resolve_root, root_dir

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _absolute(given) == str(Path(given).expanduser().absolute())
    assert root_dir(given, {}) == str(resolve_root(given, {}))
    (tmp_path / "root").mkdir()
    for env in ("plain", given):
        assert env_dir(env, str(tmp_path / "root")) == str(resolve_env(env, tmp_path / "root"))
