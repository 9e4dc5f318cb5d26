"""The one renderer: every result and every error in one JSON envelope, or as text.

In-process: ``cli.main`` and ``cli.render`` with captured stdout and stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mambaboot.cli import main, parser, render
from mambaboot.errors import HashMismatchError, MambabootError, UsageError
from mambaboot.results import (
    BinaryInfo,
    Check,
    CreateResult,
    LockResult,
    MicromambaResult,
    RemoveResult,
    VerifyReport,
)

KEYS = {"schema", "command", "ok", "exit_code", "warnings"}


@pytest.fixture(autouse=True)
def _fresh_warnings() -> None:
    render.reset()


def doc_of(out: str) -> dict[str, Any]:
    doc = json.loads(out)
    assert set(doc) >= KEYS and doc["schema"] == render.SCHEMA
    assert ("result" in doc) != ("error" in doc)
    return doc


def test_a_result_is_wrapped_in_the_envelope(capsys: pytest.CaptureFixture[str]) -> None:
    report = VerifyReport(Path("/envs/x"), (Check("python", True, "3.12"),))
    assert render.render("verify", report, as_json=True) == 0
    doc = doc_of(capsys.readouterr().out)
    assert (doc["command"], doc["ok"], doc["exit_code"], doc["warnings"]) == (
        "verify", True, 0, [])
    assert doc["result"] == {"prefix": "/envs/x", "ok": True,
                             "checks": [{"name": "python", "ok": True, "detail": "3.12"}]}


def test_drift_is_not_ok_but_still_a_result(capsys: pytest.CaptureFixture[str]) -> None:
    report = VerifyReport(Path("/envs/x"), (Check("lockfile", False, "numpy added"),))
    assert render.render("verify", report, as_json=True) == 1
    doc = doc_of(capsys.readouterr().out)
    assert (doc["ok"], doc["exit_code"], doc["result"]["ok"]) == (False, 1, False)
    assert render.render("verify", report, as_json=False, env="x") == 1
    out = capsys.readouterr().out
    assert "FAIL lockfile: numpy added" in out and "mambaboot lock x" in out


def test_an_error_has_type_message_details_and_exit_code(
        capsys: pytest.CaptureFixture[str]) -> None:
    error = HashMismatchError("demo-1.0.conda is not what the lock says; fetch it again.",
                              details="expected aa\ngot bb")
    assert render.report_error(error, command="create", verbose=False, as_json=True) == 1
    captured = capsys.readouterr()
    doc = doc_of(captured.out)
    assert (doc["command"], doc["ok"], doc["exit_code"]) == ("create", False, 1)
    assert doc["error"] == {"type": "HashMismatchError", "message": error.message,
                            "details": "expected aa\ngot bb"}
    assert captured.err.splitlines() == [f"mambaboot: {error.message}", "    expected aa",
                                         "    got bb"]


def test_an_unexpected_error_is_one_sentence_too(capsys: pytest.CaptureFixture[str]) -> None:
    code = render.report_error(KeyError("x"), command="list", verbose=False, as_json=True)
    doc = doc_of(capsys.readouterr().out)
    assert code == 1 and doc["error"]["type"] == "KeyError"
    assert doc["error"]["message"].startswith("Unexpected error (KeyError")


def test_warnings_go_to_stderr_at_once_and_into_the_envelope(
        capsys: pytest.CaptureFixture[str]) -> None:
    render.warn("warning: the channel http://x uses plain http://")
    assert capsys.readouterr().err == "mambaboot: warning: the channel http://x uses plain http://\n"
    clobber = {"path": "lib/a.py", "packages": ["a-1", "b-1"], "installed": "b-1"}
    result = CreateResult(Path("/envs/c"), "c", "3.12", 2, "rattler", "0.1", (), (), 1.0,
                          clobbers=(clobber,))
    render.render("create", result, as_json=True)
    captured = capsys.readouterr()
    doc = doc_of(captured.out)
    assert len(doc["warnings"]) == 2 and "lib/a.py is shipped by a-1 and b-1" in doc["warnings"][1]
    assert "lib/a.py" in captured.err
    assert doc["result"]["clobbers"] == [clobber]


def test_a_usage_error_is_in_the_same_envelope(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["list", "--bogus", "--json"])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    doc = doc_of(captured.out)
    assert (doc["command"], doc["exit_code"], doc["error"]["type"]) == ("list", 2, "UsageError")
    assert "--bogus" in doc["error"]["message"] and "mambaboot list --help" in captured.err


def test_a_failing_command_through_main(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--root", str(tmp_path / "none"), "--json"]) == 2
    doc = doc_of(capsys.readouterr().out)
    assert doc["command"] == "list" and "does not exist" in doc["error"]["message"]
    assert main(["list", "--root", str(tmp_path), "--json"]) == 0
    doc = doc_of(capsys.readouterr().out)
    assert doc["result"] == {"root": str(tmp_path), "environments": []}


def test_text_of_the_smaller_commands(capsys: pytest.CaptureFixture[str]) -> None:
    export = LockResult(Path("/e/.mambaboot/lock.yml"), 3, "explicit", None, "@EXPLICIT\n")
    render.render("lock", export, as_json=False, quiet=True)
    assert capsys.readouterr().out == "@EXPLICIT\n"  # the export itself, even with -q
    render.render("remove", RemoveResult(Path("/e"), False, True, ("bin", "lib")), as_json=False)
    assert "Would remove /e (2 entries: bin, lib)" in capsys.readouterr().out
    declined = RemoveResult(Path("/e"), False, False, ("bin",))
    assert render.render("remove", declined, as_json=False, exit_code=1) == 1
    assert capsys.readouterr().out == "Nothing removed.\n"
    info = BinaryInfo(Path("/c/micromamba"), "2.3.3-0", "linux-64", "ab" * 32, "release",
                      "https://x", "2026-01-01T00:00:00+00:00")
    render.render("micromamba", MicromambaResult("path", info), as_json=False, quiet=True)
    assert capsys.readouterr().out == "/c/micromamba\n"
    render.render("micromamba", MicromambaResult("verify", info), as_json=True)
    result = doc_of(capsys.readouterr().out)["result"]
    assert (result["action"], result["path"], result["downloaded"]) == ("verify", "/c/micromamba",
                                                                         False)


def test_a_missing_dependency_is_loud_not_a_missing_command(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real = parser.command_module

    def broken(name: str) -> Any:
        if name == "lock":
            raise ModuleNotFoundError("No module named 'rattler'", name="rattler")
        return real(name)

    monkeypatch.setattr(parser, "command_module", broken)
    with pytest.raises(MambabootError, match=r"'rattler' is not installed.*pip install"):
        parser.build_parser()
    assert main(["--help"]) == 1
    assert main(["lock", "x", "--json"]) == 1
    captured = capsys.readouterr()
    doc = doc_of(captured.out)  # --help failed before printing anything
    assert doc["command"] == "lock" and "'lock' command" in doc["error"]["message"]
    lines = captured.err.splitlines()
    assert len(lines) == 2 and all("reinstall mambaboot" in line for line in lines)
    assert main(["list", "--root", "/nonexistent-root-for-test"]) == 2  # others still work


def test_a_module_missing_at_run_time_is_named_too(capsys: pytest.CaptureFixture[str]) -> None:
    render.report_error(ModuleNotFoundError("No module named 'yaml'", name="yaml"),
                        command="create", verbose=False, as_json=False)
    assert "the module 'yaml' is not installed" in capsys.readouterr().err


def test_usage_error_exit_code_is_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert render.report_error(UsageError("Bad."), command=None, verbose=False, as_json=True) == 2
    assert doc_of(capsys.readouterr().out)["command"] is None


def test_ctrl_c_with_json_still_prints_one_document(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real = parser.command_module("list")

    def interrupted(_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(parser, "command_module",
                        lambda name: SimpleNamespace(register=real.register, run=interrupted))
    assert main(["list", "--json"]) == 130
    captured = capsys.readouterr()
    doc = doc_of(captured.out)
    assert (doc["command"], doc["exit_code"], doc["error"]["type"]) == (
        "list", 130, "KeyboardInterrupt")
    assert captured.err.startswith("mambaboot: interrupted")
