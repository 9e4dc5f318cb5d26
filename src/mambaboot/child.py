"""One JSON-lines protocol for our child processes (both engine workers, the unpackers).

py-rattler is native code and has been seen to segfault on a fresh cache, so
whatever calls it runs in a child process (``engines.rattler.worker``,
``engines.micromamba.fetch_worker``): a crash becomes an exit status the parent
can explain, and the parent's own clean-up still runs. The parent never
imports rattler, which keeps ``--help``, ``list`` and ``run`` fast.

The protocol, both sides of which live here:

* the parent runs ``python -m MODULE PARENT_PID`` with the scrubbed
  environment (only the test hooks' and ``MAMBABOOT_HTTP_*`` variables of ours
  pass) and writes JSON requests on its stdin, one line each, waiting for
  each one's final line before the next (``Worker``); EOF ends the child;
* the child writes JSON lines ``{"event": NAME, ...}`` on its *original*
  stdout, which the parent relays to a progress callback; the last line is
  ``done`` (the reply) or ``error`` (a ``MambabootError.to_json()``, rebuilt
  as the same class with ``errors.from_json``). Anything else the child or
  its native code prints goes to stderr, whose tail the parent keeps; after
  an ``error`` the child exits (its state is unknown);
* a child that dies by a signal, exits non-zero or ends without a final line
  is an ``EngineError`` carrying that stderr tail.

This module is imported by the child before its slow imports (the parent-death
guard must come first), so it imports nothing heavy at module level.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import IO, Any, NoReturn

from mambaboot import testhooks
from mambaboot.errors import EngineError, MambabootError, from_json
from mambaboot.events import ProgressCallback, no_progress

#: Lines of a reason (solver report, stderr) kept in an error's details.
MAX_DETAIL_LINES = 12
#: Characters of the child's stderr the parent keeps (the rest is drained and dropped).
STDERR_TAIL = 64 * 1024
FINAL = ("done", "error")

#: An operation: ``(request, emit)`` -> the ``done`` reply's fields (or a coroutine of them).
Op = Callable[[dict[str, Any], "Events"], "dict[str, Any] | Awaitable[dict[str, Any]]"]

#: The child process that runs py-rattler (``engines/rattler/worker.py``): named
#: here, below every module that starts it (the engine, the lockfile step, the
#: object-store fetcher), so none of them imports the engines package for it.
RATTLER_WORKER = "mambaboot.engines.rattler.worker"


def condense(text: str, limit: int = MAX_DETAIL_LINES) -> str:
    """Keep a reason readable: the first lines, and how many were cut."""
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) <= limit:
        return "\n".join(lines)
    return "\n".join([*lines[:limit], f"... ({len(lines) - limit} more lines)"])


# -- parent side ---------------------------------------------------------------------

def child_environ() -> dict[str, str]:
    """The scrubbed environment, plus the hooks' and the HTTP settings' variables.

    The child downloads archives, so the user's ``MAMBABOOT_HTTP_*`` must reach
    it (every ``MAMBA*`` variable is scrubbed otherwise).
    """
    from mambaboot.activation.cleanenv import scrubbed_environ

    http = tuple(k for k in os.environ if k.startswith("MAMBABOOT_HTTP_"))
    return scrubbed_environ(keep=(*testhooks.HOOK_VARS, *http))


def run(module: str, request: Mapping[str, Any], progress: ProgressCallback = no_progress, *,
        what: str = "The engine", doing: str = "", advice: str = "run the same command again",
        timeout: float | None = None, timeout_message: str = "") -> dict[str, Any]:
    """Run ``python -m module`` on one ``request``; relay its events; return its ``done`` reply.

    Raises the child's own error (rebuilt by class), or an ``EngineError``
    naming ``what`` ("{what} crashed (SIGSEGV){doing}; {advice} ...") when it
    crashed, stopped without a reply, or ran over ``timeout`` seconds.
    """
    with Worker(module, what=what) as worker:
        return worker.call(request, progress, doing=doing, advice=advice, timeout=timeout,
                           timeout_message=timeout_message, last=True)


class Worker:
    """One child process that answers requests in turn, until it is closed.

    Started as soon as it is made, so its slow imports (``import rattler``,
    ~100 ms) overlap the parent's own work; a create then asks the same
    process to install, and afterwards to write the lockfile, instead of
    paying that start-up twice. Used as a context manager: leaving the block
    closes it (stdin reaches EOF, the child exits), or kills it when the block
    ends by an exception (Ctrl-C included).
    """

    @classmethod
    def take(cls, module: str, *, what: str = "The engine") -> Worker:
        """The worker ``prestart`` started for ``module`` (if it is still alive), else a new one."""
        early = _PRESTARTED.pop(module, None)
        if early is not None and early.proc.poll() is None:
            early.what = what
            return early
        if early is not None:
            early.kill()
        return cls(module, what=what)

    def __init__(self, module: str, *, what: str = "The engine") -> None:
        import subprocess

        self.module, self.what = module, what
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", env=child_environ(),
        )
        # stderr is drained in a thread: read only at the end, a child writing more
        # than a pipe buffer (~64 KiB of engine warnings) would block, and so would we
        self.tail: list[str] = []
        self.drain = threading.Thread(target=_drain, args=(self.proc.stderr, self.tail),
                                      daemon=True)
        self.drain.start()
        self.broken = False

    def call(self, request: Mapping[str, Any], progress: ProgressCallback = no_progress, *,
             doing: str = "", advice: str = "run the same command again",
             timeout: float | None = None, timeout_message: str = "",
             last: bool = False) -> dict[str, Any]:
        """Send one request; relay its events; return its reply or raise its error.

        ``last``: no request follows, so stdin is closed right after this one
        (the child ends as soon as it has answered). After an error or a crash
        the worker is spent: a later call raises ``EngineError`` at once
        instead of talking to a dead process.
        """
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        if self.broken:
            raise EngineError(f"{self.what} stopped earlier{doing}; {advice}.")
        timed_out = threading.Event()

        def stop() -> None:  # the timer's thread: remember why the child was killed
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, stop) if timeout else None
        final: dict[str, Any] | None = None
        try:
            if timer:
                timer.start()
            with contextlib.suppress(BrokenPipeError, OSError):  # a child that died at once
                proc.stdin.write(json.dumps(request) + "\n")
                proc.stdin.flush()
                if last:
                    proc.stdin.close()
            final = _relay(proc.stdout, progress)
        except BaseException:
            self.kill()
            raise
        finally:
            if timer:
                timer.cancel()
        if final is not None and final["event"] == "done":
            return {k: v for k, v in final.items() if k != "event"}
        self.broken = True
        code = self._ended()
        if timed_out.is_set() and final is None:
            raise EngineError(timeout_message or f"{self.what} ran over {timeout:g} s and was "
                              "stopped; run the same command again.",
                              details=condense("".join(self.tail)))
        return outcome(final, code, "".join(self.tail), what=self.what, doing=doing,
                       advice=advice)

    def _ended(self) -> int:
        """Wait for the child after its last word (or its death); its exit status."""
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        code = self.proc.wait()
        self.drain.join(timeout=5)
        return code

    def kill(self) -> None:
        self.broken = True
        self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        """No more requests: the child exits on EOF (killed if it does not within 30 s)."""
        if self.proc.poll() is None and not self.broken:
            assert self.proc.stdin is not None
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except Exception:
                self.kill()
        elif self.proc.poll() is None:
            self.kill()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.kill()
        else:
            self.close()


#: Workers started by ``prestart`` and not yet taken (one per module).
_PRESTARTED: dict[str, Worker] = {}


def prestart(module: str) -> None:
    """Start ``module``'s worker now, for this process's next ``Worker.take(module)``.

    The CLI calls this first thing for ``create``: the worker's ``import
    rattler`` (~100-200 ms) then overlaps the CLI's own imports, parsing and
    checks instead of following them. A worker nobody takes (bad input, ``--help``)
    is killed when the process exits.
    """
    if module not in _PRESTARTED:
        import atexit

        if not _PRESTARTED:
            atexit.register(_discard_prestarted)
        _PRESTARTED[module] = Worker(module)


def _discard_prestarted() -> None:
    while _PRESTARTED:
        _PRESTARTED.popitem()[1].kill()


def _drain(stream: IO[str], tail: list[str]) -> None:
    kept = ""
    for chunk in iter(lambda: stream.read(8192), ""):
        kept = (kept + chunk)[-STDERR_TAIL:]
    tail.append(kept)


def _relay(stdout: IO[str], progress: ProgressCallback) -> dict[str, Any] | None:
    """Pass events on until the final line; lines that are not events are skipped."""
    for line in stdout:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            continue
        name = event.pop("event")
        if name in FINAL:
            return {"event": name, **event}
        testhooks.passed(name)  # the child has run this event's hook
        progress(name, event)
    return None


def outcome(final: dict[str, Any] | None, code: int, stderr: str, *, what: str = "The engine",
            doing: str = "", advice: str = "run the same command again") -> dict[str, Any]:
    """The reply of a child that ended with ``final`` and exit status ``code``, or the error."""
    if final and final["event"] == "done" and code == 0:
        return {k: v for k, v in final.items() if k != "event"}
    if final and final["event"] == "error":
        raise from_json(final)
    if code < 0:
        try:
            signame = signal.Signals(-code).name
        except ValueError:
            signame = f"signal {-code}"
        raise EngineError(
            f"{what} crashed ({signame}){doing}; {advice} (run with -v and report it if it "
            "repeats).", details=condense(stderr))
    raise EngineError(f"{what} stopped unexpectedly (exit code {code}){doing}; {advice}.",
                      details=condense(stderr))


# -- child side ----------------------------------------------------------------------

def die_with_parent() -> None:
    """If the parent is killed (SIGKILL), stop at once: call before any slow import.

    Called before ``import rattler`` (~100 ms): a CLI killed during that import
    must not leave a worker that goes on to install into a prefix the next
    create is already cleaning, or holds the package cache's locks. Linux has a
    parent-death signal; the parent's pid in argv closes the race where the
    parent died before the signal was armed.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if len(sys.argv) > 1 and sys.argv[1].isdigit() and os.getppid() != int(sys.argv[1]):
        os._exit(1)  # the parent is gone already


class Events:
    """Writes one JSON line per event; a lock keeps lines whole (downloads emit from threads).

    Each event also passes the test hooks (``testhooks.on_event``), so a
    test can pause or crash the child at a named stage without the engine code
    calling a hook itself.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def __call__(self, event: str, **data: Any) -> None:
        line = json.dumps({"event": event, **data}) + "\n"
        with self.lock:
            self.stream.write(line)
            self.stream.flush()
        testhooks.on_event(event)

    def relay(self, event: str, data: dict[str, Any]) -> None:
        """The ``(event, data)`` callback shape the library (``vet``, ``ensure_archives``) calls."""
        self(event, **data)


def serve(ops: Mapping[str, Op],
          classify: Callable[[Exception], MambabootError] | None = None) -> NoReturn:
    """The child's main: for each request line, run its ``op``; ``done`` or ``error`` each.

    Our own errors travel as themselves; any other exception becomes
    ``classify(exc)`` (default: an ``EngineError`` with the exception as the
    reason). Never returns: the process ends with ``os._exit``.
    """
    events_fd = os.dup(1)
    os.dup2(2, 1)  # whatever the native code prints must not corrupt the event stream
    emit = Events(os.fdopen(events_fd, "w", encoding="utf-8"))
    status = 0
    for line in sys.stdin:  # one request per line, until the parent closes stdin
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            op = ops.get(str(request.get("op")))
            if op is None:
                raise EngineError(f"The worker has no operation {request.get('op')!r}; "
                                  "reinstall mambaboot (its parts do not match).")
            reply = op(request, emit)
            if not isinstance(reply, dict):  # a coroutine: the rattler calls are async
                import asyncio

                reply = asyncio.run(_awaited(reply))
            emit("done", **reply)
            continue
        except MambabootError as exc:  # ours: rebuilt as the same class by the parent
            emit("error", **exc.to_json())
        except Exception as exc:  # every failure is reported to the parent
            error = classify(exc) if classify else EngineError(
                "The engine failed; see the reason below and retry.",
                details=condense(f"{type(exc).__name__}: {exc}"))
            emit("error", **error.to_json())
        status = 1  # after an error the worker is spent: its state is unknown
        break
    sys.stdout.flush()
    sys.stderr.flush()
    # Every event is written and flushed by now. Interpreter finalisation only
    # costs time (~30 ms of thread and module teardown per create) and can abort
    # after py-rattler work ("PyGILState_Release ... finalizing", seen after an
    # HTTP install), which would turn a finished create into an engine crash.
    os._exit(status)


async def _awaited(reply: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    return await reply
