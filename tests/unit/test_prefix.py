"""The one validator: each rule of ``Prefix.status`` has a case only that rule decides."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mambaboot.errors import NotAnEnvironmentError
from mambaboot.prefix import Prefix, Status, foreign_reason, require_env
from tests.support.fstools import make_env, scratch_cwd, stuck_rmdir  # noqa: F401 - scratch_cwd: autouse

MM_HISTORY = ("==> 2024-05-01 10:00:00 <==\n"
              "# cmd: micromamba create --yes --prefix {path} --override-channels -c c "
              "--no-rc --root-prefix /cache/micromamba/root python\n"
              "# conda version: 3.8.0\n+c::python-3.12.0-0\n")


def parked_create(path: Path, history: str | None = MM_HISTORY) -> Prefix:
    """What a SIGKILL leaves while the micromamba engine has parked our folder."""
    prefix = Prefix(path)
    prefix.conda_meta.mkdir(parents=True)
    (prefix.conda_meta / "python.json").write_text("{}")
    if history is not None:
        (prefix.conda_meta / "history").write_text(history.format(path=path))
    prefix.parked_meta.mkdir()
    (prefix.parked_meta / "creating").write_text("pid 1\n")
    return prefix


def test_status_is_decided_by_manifest_and_marker(tmp_path: Path) -> None:
    assert Prefix(tmp_path / "none").status is None
    (tmp_path / "conda_only" / "conda-meta").mkdir(parents=True)
    assert Prefix(tmp_path / "conda_only").status is Status.FOREIGN
    assert make_env(tmp_path / "ok").status is Status.OK
    assert make_env(tmp_path / "half", creating=True).status is Status.INCOMPLETE
    (tmp_path / "file").write_text("x")
    assert Prefix(tmp_path / "file").status is Status.FOREIGN


def test_a_link_to_our_environment_is_foreign(tmp_path: Path) -> None:
    make_env(tmp_path / "ok")
    (tmp_path / "link").symlink_to(tmp_path / "ok")
    assert Prefix(tmp_path / "link").status is Status.FOREIGN


def test_a_dangling_link_is_foreign_not_absent(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert Prefix(tmp_path / "dangling").status is Status.FOREIGN
    with pytest.raises(NotAnEnvironmentError, match="is a link"):
        require_env(tmp_path / "dangling")


@pytest.mark.parametrize("what", ["meta", "manifest", "creating"])
def test_links_inside_are_never_proof_of_ownership(tmp_path: Path, what: str) -> None:
    elsewhere = make_env(tmp_path / "elsewhere", creating=what == "creating")
    prefix = Prefix(tmp_path / "env")
    prefix.path.mkdir()
    if what == "meta":
        prefix.meta.symlink_to(elsewhere.meta)
    else:
        prefix.meta.mkdir()
        target = elsewhere.manifest if what == "manifest" else elsewhere.creating_marker
        getattr(prefix, "manifest" if what == "manifest" else "creating_marker").symlink_to(target)
    assert prefix.status is Status.FOREIGN


def test_marker_parked_by_the_micromamba_engine_still_means_incomplete(tmp_path: Path) -> None:
    """micromamba needs the prefix without our folder; a kill then must not orphan it."""
    assert parked_create(tmp_path / "mm").status is Status.INCOMPLETE


@pytest.mark.parametrize("spoil", [
    "no-history", "other-prefix", "not-our-flags", "not-a-cmd-line", "own-meta-present",
    "history-is-link", "conda-meta-is-link", "parked-is-link", "parked-marker-is-link",
    "no-parked-marker"])
def test_a_stray_parked_marker_alone_never_makes_a_folder_ours(tmp_path: Path,
                                                                spoil: str) -> None:
    """Each condition of _made_by_parked_create, broken alone, leaves the folder FOREIGN."""
    path = tmp_path / "mm"
    history = {
        "no-history": None,
        "other-prefix": MM_HISTORY.replace("{path}", str(tmp_path / "other")),
        "not-our-flags": MM_HISTORY.replace("--no-rc ", ""),
        "not-a-cmd-line": MM_HISTORY.replace("# cmd:", "# note:"),
    }.get(spoil, MM_HISTORY)
    prefix = parked_create(path, history)
    history_file = prefix.conda_meta / "history"
    real = tmp_path / "real"
    real.mkdir()
    if spoil == "own-meta-present":
        prefix.meta.mkdir()
    elif spoil == "history-is-link":
        (real / "history").write_text(history_file.read_text())
        history_file.unlink()
        history_file.symlink_to(real / "history")
    elif spoil == "conda-meta-is-link":
        prefix.conda_meta.rename(real / "conda-meta")
        prefix.conda_meta.symlink_to(real / "conda-meta")
    elif spoil == "parked-is-link":
        prefix.parked_meta.rename(real / "parked")
        prefix.parked_meta.symlink_to(real / "parked")
    elif spoil == "parked-marker-is-link":
        (prefix.parked_meta / "creating").rename(real / "creating")
        (prefix.parked_meta / "creating").symlink_to(real / "creating")
    elif spoil == "no-parked-marker":
        (prefix.parked_meta / "creating").unlink()
    assert prefix.status is Status.FOREIGN
    if spoil not in ("parked-is-link", "no-parked-marker"):
        assert "stray" in foreign_reason(prefix)


def test_require_env_explains_each_refusal(tmp_path: Path) -> None:
    (tmp_path / "conda_only" / "conda-meta").mkdir(parents=True)
    make_env(tmp_path / "half", creating=True)
    with pytest.raises(NotAnEnvironmentError, match="not a mambaboot environment"):
        require_env(tmp_path / "conda_only")
    with pytest.raises(NotAnEnvironmentError, match="failed or unfinished create"):
        require_env(tmp_path / "half")
    with pytest.raises(NotAnEnvironmentError, match="mambaboot list"):
        require_env(tmp_path / "missing")
    assert require_env(tmp_path / "half", allow_incomplete=True).path == tmp_path / "half"
    assert make_env(tmp_path / "ok") == require_env(tmp_path / "ok")


def test_destroy_marks_first_and_deletes_the_marker_last(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupt destroy() after every single deletion: the rest is always still marked."""
    from mambaboot import fsutil

    real_remove = fsutil._remove_file
    for stop_after in range(12):
        path = tmp_path / f"env{stop_after}"
        prefix = make_env(path)  # a finished env: remove must mark it before deleting
        for rel in ("bin/python", "lib/a/b.py", "lib/a/c.py", "conda-meta/x.json"):
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_text(rel)
        calls = [0]

        def interrupting(*args: object, _stop: int = stop_after, _calls: list[int] = calls,
                         ) -> None:
            if _calls[0] == _stop:
                raise KeyboardInterrupt
            _calls[0] += 1
            real_remove(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(fsutil, "_remove_file", interrupting)
        try:
            assert prefix.destroy() == []
        except KeyboardInterrupt:
            assert prefix.status is Status.INCOMPLETE, stop_after
        else:
            assert not path.exists()
        monkeypatch.setattr(fsutil, "_remove_file", real_remove)
        assert prefix.destroy() == [] and not path.exists()


def test_destroy_removes_a_parked_create_and_its_parked_folder(tmp_path: Path) -> None:
    prefix = parked_create(tmp_path / "mm")
    assert prefix.destroy() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_destroy_deletes_the_parked_marker_last(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from mambaboot import fsutil

    prefix = parked_create(tmp_path / "mm")
    for name in ("lock.yml", "activation.json", *(f"x{i}" for i in range(30))):
        (prefix.parked_meta / name).write_text(name)
    real_remove = fsutil._remove_file
    removed: list[str] = []

    def recording(path: Path, *args: object, **kw: object) -> None:
        removed.append(path.name)
        real_remove(path, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(fsutil, "_remove_file", recording)
    assert prefix.destroy() == []
    assert removed[-1] == "creating" and removed.count("creating") == 2  # ours, then parked


# --- added for the mutation run (docs/security.md) ---

def test_a_history_with_undecodable_bytes_still_proves_our_create(tmp_path: Path) -> None:
    prefix = parked_create(tmp_path / "mm")
    history = prefix.conda_meta / "history"
    history.write_bytes(b"# cmd: caf\xe9 --version\n" + history.read_bytes())
    assert prefix.status is Status.INCOMPLETE


def test_an_unreadable_history_proves_nothing(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    prefix = parked_create(tmp_path / "mm")
    real_open = builtins.open

    def failing_open(file: object, *args: object, **kw: object) -> object:
        if os.fspath(file).endswith("history"):  # type: ignore[call-overload]
            raise OSError(5, "I/O error", file)
        return real_open(file, *args, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr("mambaboot.prefix.open", failing_open, raising=False)
    assert prefix.status is Status.FOREIGN


def test_each_refusal_is_one_exact_sentence(tmp_path: Path) -> None:
    with pytest.raises(NotAnEnvironmentError) as info:
        require_env(tmp_path / "missing")
    assert info.value.message == (f"There is no environment at {tmp_path / 'missing'}; check "
                                  "the name with 'mambaboot list' or pass --root.")
    env = make_env(tmp_path / "env")
    (tmp_path / "alias").symlink_to(env.path, target_is_directory=True)
    assert foreign_reason(Prefix(tmp_path / "alias")) == (
        f"{tmp_path / 'alias'} is a link, not a mambaboot environment; mambaboot never writes "
        "through or removes a link, use the environment's real path or another name.")
    stray = parked_create(tmp_path / "stray", history=None)
    assert foreign_reason(stray) == (
        f"{stray.path} is not provably a mambaboot environment (only a stray "
        f".stray.mambaboot-parked marker lies beside it); mambaboot leaves it alone, delete it "
        "yourself if it is a leftover of an interrupted create.")
    (tmp_path / "plain").mkdir()
    assert foreign_reason(Prefix(tmp_path / "plain")) == (
        f"{tmp_path / 'plain'} is not a mambaboot environment (it has no .mambaboot/env.json); "
        "mambaboot only touches environments it created.")


def test_destroy_reports_leftovers_of_the_prefix_and_of_the_parked_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    from mambaboot import fsutil

    prefix = make_env(tmp_path / "env")
    (prefix.path / "bin").mkdir()
    prefix.parked_meta.mkdir()
    (prefix.parked_meta / "creating").write_text("pid 1\n")
    stuck_rmdir(monkeypatch, "bin")
    monkeypatch.setattr(fsutil, "move_aside", lambda *a: False)
    leftovers = prefix.destroy(trash=tmp_path / "trash")
    assert prefix.path / "bin" in leftovers and not prefix.parked_meta.exists()


def test_destroy_moves_files_in_use_to_the_trash(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = make_env(tmp_path / "env")
    (prefix.path / "held.dll").write_text("x")
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self.name == "held.dll":
            raise PermissionError(13, "in use", str(self))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    assert prefix.destroy(trash=tmp_path / "trash") == [] and not prefix.path.exists()
    assert [p.name.endswith("-held.dll") for p in (tmp_path / "trash").iterdir()] == [True]
