"""child: the one JSON-lines protocol, with a tiny child instead of rattler."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from mambaboot import child
from mambaboot.errors import ChannelError, EngineError, HashMismatchError

CHILD = '''
import os, signal, sys, time
from mambaboot.child import die_with_parent
die_with_parent()
from mambaboot.child import serve
from mambaboot.errors import ChannelError, HashMismatchError

def done(req, emit):
    emit("solve-start", specs=["x"])
    emit.stream.write("not json\\n[1, 2]\\n{\\"no\\": \\"event\\"}\\n\\xff garbage\\n")
    emit.stream.flush()
    print("native noise on what was stdout")  # goes to stderr, not into the events
    emit.relay("checked", {"name": "a"})
    return {"answer": 42, "pid": os.getpid()}

async def done_async(req, emit):
    return {"answer": "async"}

def mismatch(req, emit):
    exc = HashMismatchError("The archive of a does not match.", details="expected x, got y")
    exc.package = "a"
    raise exc

def boom(req, emit):
    raise KeyError("rattler said no")

def segv(req, emit):
    sys.stderr.write("last words\\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGSEGV)

def chatty(req, emit):
    for i in range(req["lines"]):
        sys.stderr.write(f"warning {i}: " + "x" * 90 + "\\n")
    sys.stderr.flush()
    if req.get("crash"):
        os.kill(os.getpid(), signal.SIGABRT)
    return {"lines": req["lines"]}

def silent_exit(req, emit):
    os._exit(3)

def hang(req, emit):
    time.sleep(60)

def staged(req, emit):
    emit("install-start", total=1)
    return {}

def classify(exc):
    return ChannelError("A channel could not be read.", details=str(exc))

ops = {"done": done, "async": done_async, "mismatch": mismatch, "boom": boom, "segv": segv,
       "chatty": chatty, "exit": silent_exit, "hang": hang, "staged": staged}
serve(ops, classify if os.environ.get("CLASSIFY") else None)
'''


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``python -m MODULE PID`` runs the tiny child instead (the pid is passed on)."""
    script = tmp_path / "tiny_child.py"
    script.write_text(CHILD, encoding="utf-8")
    launcher = tmp_path / "python"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} {script} "$3"\n')
    launcher.chmod(0o755)
    monkeypatch.setattr(child.sys, "executable", str(launcher))
    return script


def run(op: str, **request: Any) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    reply = child.run("unused.module", {"op": op, **request},
                      lambda name, data: events.append((name, data)))
    return reply, events


@pytest.mark.skipif(sys.platform == "win32", reason="a sh launcher")
class TestProtocol:
    def test_done_relays_events_and_skips_garbage(self, fake: Path) -> None:
        reply, events = run("done")
        assert reply["answer"] == 42
        assert events == [("solve-start", {"specs": ["x"]}), ("checked", {"name": "a"})]

    def test_an_async_operation(self, fake: Path) -> None:
        assert run("async")[0] == {"answer": "async"}

    def test_our_error_is_rebuilt_as_its_class(self, fake: Path) -> None:
        with pytest.raises(HashMismatchError) as caught:
            run("mismatch")
        assert caught.value.message == "The archive of a does not match."
        assert caught.value.details == "expected x, got y"
        assert caught.value.package == "a"  # type: ignore[attr-defined]

    def test_other_exceptions_are_classified(self, fake: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
        with pytest.raises(EngineError, match="The engine failed") as caught:
            run("boom")
        assert "KeyError" in (caught.value.details or "")
        monkeypatch.setenv("CLASSIFY", "1")
        with pytest.raises(ChannelError) as classified:
            run("boom")
        assert "rattler said no" in (classified.value.details or "")

    def test_a_crash_by_signal_names_it_with_the_stderr_tail(self, fake: Path) -> None:
        with pytest.raises(EngineError, match=r"The engine crashed \(SIGSEGV\)") as caught:
            run("segv")
        assert "last words" in (caught.value.details or "")

    def test_no_final_line_is_an_unexpected_stop(self, fake: Path) -> None:
        with pytest.raises(EngineError, match=r"stopped unexpectedly \(exit code 3\)"):
            run("exit")

    def test_an_unknown_operation(self, fake: Path) -> None:
        with pytest.raises(EngineError, match="no operation 'nope'"):
            run("nope")

    def test_much_stderr_neither_blocks_nor_grows_the_error(self, fake: Path) -> None:
        assert run("chatty", lines=4000)[0] == {"lines": 4000}  # ~400 KiB > a pipe buffer
        with pytest.raises(EngineError, match="SIGABRT") as caught:
            run("chatty", lines=4000, crash=True)
        details = caught.value.details or ""
        assert len(details.splitlines()) <= child.MAX_DETAIL_LINES + 1
        assert "warning 0:" not in details  # only the tail is kept

    def test_a_timeout_stops_the_child(self, fake: Path) -> None:
        with pytest.raises(EngineError, match="took too long"):
            child.run("unused", {"op": "hang"}, timeout=1, timeout_message="took too long")
        # a crash within the time allowed is a crash, not a timeout
        with pytest.raises(EngineError, match=r"The reader crashed \(SIGSEGV\)"):
            child.run("unused", {"op": "segv"}, what="The reader", timeout=60,
                      timeout_message="took too long")

    def test_one_worker_answers_requests_in_turn_then_exits_on_eof(self, fake: Path) -> None:
        with child.Worker("unused.module") as worker:
            first = worker.call({"op": "done"})
            second = worker.call({"op": "async"})
            assert worker.call({"op": "done"})["pid"] == first["pid"]  # the same process
        assert second == {"answer": "async"}
        assert worker.proc.returncode == 0

    def test_after_an_error_the_worker_is_spent(self, fake: Path) -> None:
        with child.Worker("unused.module") as worker:
            with pytest.raises(HashMismatchError):
                worker.call({"op": "mismatch"})
            assert worker.proc.returncode == 1  # the child ended after its error
            with pytest.raises(EngineError, match="stopped earlier"):
                worker.call({"op": "done"})

    def test_leaving_by_an_exception_kills_the_worker(self, fake: Path) -> None:
        with pytest.raises(KeyboardInterrupt), child.Worker("unused.module") as worker:
            worker.call({"op": "done"})
            raise KeyboardInterrupt
        assert worker.proc.returncode == -9

    def test_an_event_drives_the_test_hook_in_the_child(
            self, fake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("MAMBABOOT_TEST_CRASH_AT", "install")
        with pytest.raises(EngineError, match=r"crashed \(SIGSEGV\)"):
            run("staged")


def test_condense_keeps_the_first_lines() -> None:
    text = "\n".join(f"line {i}" for i in range(30))
    assert child.condense(text, 3) == "line 0\nline 1\nline 2\n... (27 more lines)"
    assert child.condense("  a \n\n b\n") == "a\n b"
