"""Every guard of ``remove``, each with a case that only that guard catches.

The environments here are real mambaboot layouts (manifest written the way
create writes it), so with the guard under test gone the remove would go
ahead and delete: each test checks the environment survives, not just the
message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mambaboot import fsutil, remove
from mambaboot.errors import MambabootError, NotAnEnvironmentError
from mambaboot.prefix import Prefix, Status
from mambaboot.remove import remove_env
from tests.support.fstools import make_env as fstools_make_env
from tests.support.fstools import scratch_cwd, stuck_rmdir  # noqa: F401 - scratch_cwd: autouse


def make_env(path: Path, *, creating: bool = False) -> Prefix:
    """An environment with a bin/ folder (what remove's walks have to go through)."""
    return fstools_make_env(path, creating=creating, with_bin=True)


@pytest.fixture(autouse=True)
def _no_active_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CONDA_PREFIX", "MAMBABOOT_ENV"):
        monkeypatch.delenv(var, raising=False)


def test_an_ordinary_environment_is_removed(tmp_path: Path) -> None:
    make_env(tmp_path / "env")
    result = remove_env(tmp_path / "env")
    assert result.removed and not (tmp_path / "env").exists()
    assert result.entries == (".mambaboot", "bin")


def test_home_is_refused_even_when_it_looks_like_an_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = make_env(tmp_path / "home")
    monkeypatch.setenv("HOME", str(home.path))
    with pytest.raises(NotAnEnvironmentError, match="root or home directory"):
        remove_env(home.path)
    assert home.status is Status.OK


def test_the_root_directory_is_refused_by_its_own_guard() -> None:
    """'/tmp/..' is the root once resolved; only the root guard knows that."""
    with pytest.raises(NotAnEnvironmentError, match="root or home directory"):
        remove_env(Path("/tmp/.."))


def test_a_link_to_an_environment_is_refused_with_the_real_path_named(tmp_path: Path) -> None:
    env = make_env(tmp_path / "env")
    (tmp_path / "alias").symlink_to(env.path, target_is_directory=True)
    with pytest.raises(NotAnEnvironmentError,
                       match="it is a link; remove the environment at its real path"):
        remove_env(tmp_path / "alias")
    assert env.status is Status.OK and (tmp_path / "alias").is_symlink()


def test_a_path_through_a_symlinked_parent_is_refused(tmp_path: Path) -> None:
    env = make_env(tmp_path / "real" / "env")
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    with pytest.raises(NotAnEnvironmentError, match=r"parent .*alias is a link") as info:
        remove_env(tmp_path / "alias" / "env")
    assert str(env.path) in info.value.message  # the real path, to use instead
    assert env.status is Status.OK


@pytest.mark.parametrize("var", ["CONDA_PREFIX", "MAMBABOOT_ENV"])
def test_the_active_environment_is_refused_by_either_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    env = make_env(tmp_path / "env")
    other = make_env(tmp_path / "other")
    # the other variable names another environment: each must be checked on its own
    monkeypatch.setenv("MAMBABOOT_ENV" if var == "CONDA_PREFIX" else "CONDA_PREFIX",
                       str(other.path))
    monkeypatch.setenv(var, str(env.path) + "/.")  # another spelling of the same folder
    with pytest.raises(MambabootError, match=f"active environment of this shell \\({var}\\)"):
        remove_env(env.path)
    assert env.status is Status.OK
    third = make_env(tmp_path / "third")
    assert remove_env(third.path).removed  # variables naming other folders do not block


def test_a_failed_create_is_removed(tmp_path: Path) -> None:
    half = make_env(tmp_path / "half", creating=True)
    assert remove_env(half.path).removed
    assert not half.path.exists()


def test_a_folder_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    (foreign / "conda-meta").mkdir(parents=True)
    with pytest.raises(NotAnEnvironmentError, match="not a mambaboot environment"):
        remove_env(foreign)
    assert (foreign / "conda-meta").is_dir()


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_mount_point_inside_is_refused_before_anything_is_deleted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dry_run: bool) -> None:
    env = make_env(tmp_path / "env")
    (env.path / "lib" / "mnt").mkdir(parents=True)
    monkeypatch.setattr(fsutil, "mount_points", lambda: frozenset({str(env.path / "lib/mnt")}))
    with pytest.raises(MambabootError, match="mount point or another filesystem"):
        remove_env(env.path, dry_run=dry_run)
    assert env.status is Status.OK and (env.path / "bin" / "python").exists()


def test_a_remove_that_fails_part_way_reports_failure(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_env(tmp_path / "env")
    stuck_rmdir(monkeypatch, "bin")
    monkeypatch.setattr(fsutil, "move_aside", lambda *a: False)
    with pytest.raises(MambabootError, match=r"Could not delete .* item"):
        remove_env(env.path)


def test_dry_run_deletes_nothing(tmp_path: Path) -> None:
    env = make_env(tmp_path / "env")
    plan = remove_env(env.path, dry_run=True)
    assert plan.dry_run and not plan.removed and env.status is Status.OK


def test_the_pkgs_link_is_unlinked_not_entered(tmp_path: Path) -> None:
    env = make_env(tmp_path / "env")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "pkg").write_text("shared")
    env.pkgs_link.symlink_to(cache, target_is_directory=True)
    remove_env(env.path)
    assert (cache / "pkg").read_text() == "shared"


def test_guards_run_before_the_validator(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The guards do not rely on require_env: stubbed to 'ours', they still refuse."""
    env = make_env(tmp_path / "real" / "env")
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    monkeypatch.setattr(remove, "require_env", lambda path, **kw: Prefix(path))
    with pytest.raises(NotAnEnvironmentError):
        remove_env(tmp_path / "alias" / "env")
    with pytest.raises(NotAnEnvironmentError):
        remove_env(tmp_path / "alias")
    assert env.status is Status.OK


# --- added for the mutation run (docs/security.md) ---

def stuck_file(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Files called ``name`` cannot be unlinked (a program holds them open, as on Windows)."""
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self.name == name:
            raise PermissionError(13, "in use", str(self))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)


def test_remove_and_its_plan_report_exactly_what_goes(tmp_path: Path) -> None:
    from mambaboot.results import RemoveResult

    env = make_env(tmp_path / "env")
    assert remove_env(env.path, dry_run=True) == RemoveResult(
        env.path, removed=False, dry_run=True, entries=(".mambaboot", "bin"))
    assert remove_env(env.path) == RemoveResult(
        env.path, removed=True, dry_run=False, entries=(".mambaboot", "bin"))


def test_a_file_in_use_is_moved_to_the_trash_beside_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_env(tmp_path / "env")
    stuck_file(monkeypatch, "python")
    assert remove_env(env.path).removed and not env.path.exists()
    trashed = list((tmp_path / remove.TRASH_DIR).iterdir())
    assert [p.name.endswith("-python") for p in trashed] == [True]


def test_a_remove_held_by_another_process_names_the_command_to_retry(tmp_path: Path) -> None:
    from mambaboot.envlock import env_lock
    from mambaboot.errors import BusyError

    env = make_env(tmp_path / "env")
    with env_lock(env.path, "create"), pytest.raises(BusyError) as info:
        remove_env(env.path)
    assert info.value.message.endswith("wait for it to finish, then remove again.")
    assert env.status is Status.OK


def test_the_first_leftover_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_env(tmp_path / "env")
    stuck_file(monkeypatch, "python")
    monkeypatch.setattr(fsutil, "move_aside", lambda *a: False)
    with pytest.raises(MambabootError) as info:
        remove_env(env.path)
    assert info.value.message.startswith(
        f"Could not delete 3 item(s) under {env.path} (e.g. {env.path / 'bin' / 'python'}); ")
    assert info.value.message.endswith(
        "close programs using the environment and run remove again.")


def test_the_active_environment_message_says_what_to_do(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_env(tmp_path / "env")
    monkeypatch.setenv("CONDA_PREFIX", str(env.path))
    with pytest.raises(MambabootError) as info:
        remove_env(env.path)
    assert info.value.message == (
        f"Refusing to remove {env.path}: it is the active environment of this shell "
        "(CONDA_PREFIX); exit it first, then remove it.")


def test_a_relative_path_is_checked_against_the_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    with pytest.raises(NotAnEnvironmentError, match="root or home directory"):
        remove_env(Path("tmp/.."))


def test_a_relative_path_is_not_mistaken_for_the_root(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The root guard compares with '/', not with the current folder ('' is '.')."""
    env = make_env(tmp_path / "env")
    monkeypatch.chdir(env.path)
    assert remove_env(Path("../env")).removed and not env.path.exists()
