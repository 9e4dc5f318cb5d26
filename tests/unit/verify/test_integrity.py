"""integrity: each check of an installed file, with a case only that check decides."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from mambaboot.verify.checks import file_checks
from mambaboot.verify.integrity import Drift, check_files, compare_with_lock, locked_packages


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry(rel: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"_path": rel, "path_type": "hardlink", "sha256": sha(data),
            "size_in_bytes": len(data), **extra}


def run(prefix: Path, *entries: dict[str, Any], extracted: Path | None = None,
        workers: int | None = None) -> Drift:
    record = {"name": "pkg", "paths_data": {"paths": list(entries)}}
    if extracted is not None:
        record["extracted_package_dir"] = str(extracted)
    drift = Drift()
    check_files(prefix, [record], drift, workers=workers)
    return drift


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    root = tmp_path / "env"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "tool").write_bytes(b"real tool\n")
    (root / "bin" / "other").write_bytes(b"other content\n")
    return root


def test_an_intact_file_is_ok_and_counted(prefix: Path) -> None:
    drift = run(prefix, entry("bin/tool", b"real tool\n"))
    assert (drift.missing, drift.modified, drift.unverified) == ([], [], [])
    assert drift.files_checked == 1 and drift.bytes_hashed == 10


def test_missing_and_same_size_edits_are_found(prefix: Path) -> None:
    (prefix / "bin" / "tool").write_bytes(b"evil tool\n")  # same size: only the hash sees it
    drift = run(prefix, entry("bin/tool", b"real tool\n"), entry("bin/gone", b"x"))
    assert drift.modified == ["pkg: bin/tool"] and drift.missing == ["pkg: bin/gone"]


def test_a_size_change_is_found_without_hashing(prefix: Path) -> None:
    drift = run(prefix, entry("bin/tool", b"real tool\n!"))
    assert drift.modified == ["pkg: bin/tool"] and drift.bytes_hashed == 0


def test_a_hashed_file_replaced_by_a_symlink_is_drift(prefix: Path) -> None:
    """Even a link to a file with the very same content: the installed file is gone."""
    (prefix / "copy").write_bytes(b"real tool\n")
    (prefix / "bin" / "tool").unlink()
    (prefix / "bin" / "tool").symlink_to(prefix / "copy")
    drift = run(prefix, entry("bin/tool", b"real tool\n"))
    assert drift.modified == ["pkg: bin/tool (now a symlink)"]


def test_a_file_replaced_by_a_directory_is_drift(prefix: Path) -> None:
    (prefix / "bin" / "tool").unlink()
    (prefix / "bin" / "tool").mkdir()
    drift = run(prefix, {"_path": "bin/tool", "path_type": "hardlink", "size_in_bytes": 4096})
    assert drift.modified == ["pkg: bin/tool (not a regular file)"]


def test_rewritten_files_are_checked_against_sha256_in_prefix(prefix: Path) -> None:
    shipped, installed = b"/placeholder/x\n", b"real tool\n"
    good = entry("bin/tool", shipped, sha256_in_prefix=sha(installed),
                 prefix_placeholder="/placeholder")
    assert run(prefix, good).modified == []
    bad = {**good, "sha256_in_prefix": sha(b"something else")}
    assert run(prefix, bad).modified == ["pkg: bin/tool"]


def test_entries_without_a_hash_are_unverified_but_size_checked(prefix: Path) -> None:
    drift = run(prefix, {"_path": "bin/tool", "path_type": "hardlink", "size_in_bytes": 10})
    assert drift.unverified == ["pkg: bin/tool"] and drift.modified == []
    drift = run(prefix, {"_path": "bin/tool", "path_type": "hardlink", "size_in_bytes": 11})
    assert drift.modified == ["pkg: bin/tool"] and drift.unverified == []


def test_big_files_hashed_in_threads_are_checked_too(prefix: Path) -> None:
    data = b"x" * (300 * 1024)
    (prefix / "big").write_bytes(data)
    assert run(prefix, entry("big", data), workers=2).bytes_hashed == len(data)
    (prefix / "big").write_bytes(b"y" * len(data))
    assert run(prefix, entry("big", data), workers=2).modified == ["pkg: big"]


# --- softlinks ----------------------------------------------------------------------------
def softlink(rel: str, target: str, **extra: Any) -> dict[str, Any]:
    return {"_path": rel, "path_type": "softlink", "sha256": sha(target.encode()),
            "size_in_bytes": len(target), **extra}


def test_a_softlink_pointing_where_the_package_shipped_it_is_ok(prefix: Path) -> None:
    (prefix / "bin" / "link").symlink_to("tool")
    assert run(prefix, softlink("bin/link", "tool")).modified == []


def test_a_softlink_whose_target_changed_is_drift(prefix: Path) -> None:
    (prefix / "bin" / "link").symlink_to("other")
    assert run(prefix, softlink("bin/link", "tool")).modified == ["pkg: bin/link"]


def test_a_softlink_replaced_by_a_file_is_drift(prefix: Path) -> None:
    (prefix / "bin" / "link").write_bytes(b"tool")
    assert run(prefix, softlink("bin/link", "tool")).modified == [
        "pkg: bin/link (no longer a symlink)"]


def test_the_shipped_link_in_the_cache_is_the_reference(prefix: Path, tmp_path: Path) -> None:
    extracted = tmp_path / "cache" / "pkg-1-0"
    (extracted / "bin").mkdir(parents=True)
    (extracted / "bin" / "link").symlink_to("other")
    (prefix / "bin" / "link").symlink_to("other")
    # the record's digest says 'tool', but the package's own link says 'other'
    assert run(prefix, softlink("bin/link", "tool"), extracted=extracted).modified == []
    (prefix / "bin" / "link").unlink()
    (prefix / "bin" / "link").symlink_to("tool")
    assert run(prefix, softlink("bin/link", "tool"), extracted=extracted).modified == [
        "pkg: bin/link"]


def test_conda_build_softlink_digests_are_of_the_content(prefix: Path) -> None:
    """conda-build hashes what the link points to; that content must not change either."""
    record = {"_path": "bin/link", "path_type": "softlink", "sha256": sha(b"real tool\n"),
              "size_in_bytes": 10}
    (prefix / "bin" / "link").symlink_to("tool")
    assert run(prefix, record).modified == []
    (prefix / "bin" / "tool").write_bytes(b"evil tool\n")
    assert run(prefix, record).modified == ["pkg: bin/link"]


def test_a_softlink_out_of_the_prefix_never_holds(prefix: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"real tool\n")
    record = {"_path": "bin/link", "path_type": "softlink", "sha256": sha(b"real tool\n")}
    (prefix / "bin" / "link").symlink_to(outside)
    assert run(prefix, record).modified == ["pkg: bin/link"]


def test_a_softlink_without_a_digest_or_cache_is_unverified(prefix: Path) -> None:
    (prefix / "bin" / "link").symlink_to("tool")
    drift = run(prefix, {"_path": "bin/link", "path_type": "softlink"})
    assert drift.unverified == ["pkg: bin/link"] and drift.modified == []


def test_directory_entries(prefix: Path) -> None:
    assert run(prefix, {"_path": "bin", "path_type": "directory"}).modified == []
    assert run(prefix, {"_path": "bin/tool", "path_type": "directory"}).modified == [
        "pkg: bin/tool"]


# --- the verify report and the lockfile --------------------------------------------------
def test_file_checks_report_unverified_entries_without_failing(prefix: Path) -> None:
    (prefix / "conda-meta").mkdir()
    record = {"name": "pkg", "paths_data": {"paths": [
        entry("bin/tool", b"real tool\n"), {"_path": "bin/other", "size_in_bytes": 14}]}}
    (prefix / "conda-meta" / "pkg-1-0.json").write_text(__import__("json").dumps(record))
    checks = {c.name: c for c in file_checks(prefix)}
    assert checks["files"].ok
    assert "1 files of 1 packages intact" in checks["files"].detail
    assert "1 without a recorded sha256" in checks["files"].detail
    os.unlink(prefix / "bin" / "tool")
    checks = {c.name: c for c in file_checks(prefix)}
    assert not checks["files"].ok and "1 missing: pkg: bin/tool" in checks["files"].detail


def test_compare_with_lock_names_added_removed_and_changed() -> None:
    records = [{"name": "a", "url": "https://c/a-1-0.conda", "sha256": "1"},
               {"name": "b", "url": "https://c/b-1-0.conda", "sha256": "2"},
               {"name": "c", "url": "https://c/c-1-0.conda", "sha256": "3"}]
    locked = {"b": ("b-1-0.conda", "2"), "c": ("c-1-0.conda", "9"), "d": ("d-1-0.conda", "4")}
    drift = Drift()
    compare_with_lock(records, locked, drift)
    assert drift.added == ["a (a-1-0.conda)"] and drift.removed == ["d (d-1-0.conda)"]
    assert drift.changed == ["c: locked c-1-0.conda, installed c-1-0.conda"]


def test_locked_packages_reads_conda_entries_only(tmp_path: Path) -> None:
    lock = tmp_path / "lock.yml"
    lock.write_text("packages:\n- conda: https://c/linux-64/py-lib-1.0-h0_0.conda\n"
                    "  sha256: abc\n- pypi: https://p/x.whl\n")
    assert locked_packages(lock) == {"py-lib": ("py-lib-1.0-h0_0.conda", "abc")}


# --- added for the mutation run (docs/security.md): each pins one guard's exact result ---

def test_only_hashed_bytes_are_counted_whatever_the_verdict(prefix: Path,
                                                            tmp_path: Path) -> None:
    """Every verdict that reads no content adds 0 bytes; the intact file adds its 10."""
    (prefix / "lib").mkdir()
    (prefix / "share").mkdir()
    (prefix / "bin" / "swapped").symlink_to("tool")
    (prefix / "bin" / "sl").symlink_to("tool")
    (prefix / "bin" / "out").symlink_to(tmp_path)
    (prefix / "bin" / "nosha").symlink_to("tool")
    drift = run(prefix,
                entry("bin/tool", b"real tool\n"),
                entry("bin/gone", b"x"),
                {"_path": "lib", "path_type": "directory"},
                entry("bin/swapped", b"real tool\n"),
                entry("share", b"x"),
                {"_path": "bin/other", "path_type": "hardlink", "size_in_bytes": 14},
                softlink("bin/sl", "tool"),
                softlink("bin/other", "tool"),
                {"_path": "bin/nosha", "path_type": "softlink"},
                {**softlink("bin/out", "elsewhere")})
    assert drift.files_checked == 10 and drift.bytes_hashed == 10
    assert drift.missing == ["pkg: bin/gone"]
    assert drift.modified == ["pkg: bin/swapped (now a symlink)",
                              "pkg: share (not a regular file)",
                              "pkg: bin/other (no longer a symlink)", "pkg: bin/out"]
    assert drift.unverified == ["pkg: bin/other", "pkg: bin/nosha"]


def test_hashed_bytes_add_up_over_files_and_chunks(prefix: Path) -> None:
    from mambaboot.packages.fetch import CHUNK

    big = b"b" * (CHUNK + 5)  # two reads: the size is the sum, not the last chunk
    (prefix / "big").write_bytes(big)
    drift = run(prefix, entry("bin/tool", b"real tool\n"), entry("big", big))
    assert drift.bytes_hashed == 10 + CHUNK + 5 and drift.modified == []


def test_a_file_that_cannot_be_read_is_missing(prefix: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from mambaboot.verify import integrity

    def vanished(path: str) -> tuple[str, int]:
        raise FileNotFoundError(2, "gone between lstat and open", path)

    monkeypatch.setattr(integrity, "file_digest", vanished)
    drift = run(prefix, entry("bin/tool", b"real tool\n"))
    assert drift.missing == ["pkg: bin/tool"] and drift.bytes_hashed == 0


@pytest.mark.parametrize("keys", [{"prefix_placeholder": "/opt/build"}, {"sha256_in_prefix": ""}])
def test_rewritten_files_skip_the_size_check(prefix: Path, keys: dict[str, str]) -> None:
    """Either key alone means the install rewrote the file: its recorded size is the package's."""
    data = b"real tool\n"
    record = entry("bin/tool", data, size_in_bytes=len(data) + 7, **keys)
    if "sha256_in_prefix" in keys:
        record.update(sha256="0" * 64, sha256_in_prefix=sha(data))
    drift = run(prefix, record)
    assert drift.modified == [] and drift.bytes_hashed == len(data)


@pytest.mark.parametrize("edit", [b"evil tool\n", b"longer evil tool\n"])
def test_damage_shared_with_the_cache_is_named(prefix: Path, tmp_path: Path,
                                               edit: bytes) -> None:
    cache = tmp_path / "cache" / "pkg-1.0-0"
    (cache / "bin").mkdir(parents=True)
    os.link(prefix / "bin" / "tool", cache / "bin" / "tool")
    (prefix / "bin" / "tool").write_bytes(edit)  # in place: the cache's copy changes too
    drift = run(prefix, entry("bin/tool", b"real tool\n"), extracted=cache)
    label = f"pkg: bin/tool (the same file as in the package cache, {cache})"
    assert drift.modified == [label] and drift.shared == [label]


def test_damage_in_a_file_hard_linked_elsewhere_counts_the_other_places(
        prefix: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "bin").mkdir(parents=True)
    (cache / "bin" / "tool").write_bytes(b"real tool\n")  # the cache has its own copy
    os.link(prefix / "bin" / "tool", tmp_path / "other-env-tool")
    (prefix / "bin" / "tool").write_bytes(b"evil tool\n")
    drift = run(prefix, entry("bin/tool", b"real tool\n"), extracted=cache)
    label = "pkg: bin/tool (hard-linked: 1 other place(s) share this damage)"
    assert drift.modified == [label] and drift.shared == [label]


def test_damage_in_an_unshared_file_is_not_called_shared(prefix: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "bin").mkdir(parents=True)
    (cache / "bin" / "tool (1)").write_bytes(b"real tool\n")  # another inode
    (prefix / "bin" / "tool (1)").write_bytes(b"evil tool\n")
    drift = run(prefix, entry("bin/tool (1)", b"real tool\n"), extracted=cache)
    assert drift.modified == ["pkg: bin/tool (1)"] and drift.shared == []


def test_records_without_a_name_or_paths_are_read(prefix: Path) -> None:
    drift = Drift()
    records = [{"paths_data": {"paths": [entry("bin/gone", b"x")]}}, {"name": "empty",
                                                                     "paths_data": {}}]
    check_files(prefix, records, drift)
    assert drift.missing == ["?: bin/gone"] and drift.files_checked == 1
