"""Serve a directory over HTTP on 127.0.0.1, with fault injection.

Download, retry and caching code must be tested against misbehaving servers
without touching the network.  `Faults` holds per-path rules (fail N times,
404, truncate, delay, drop the connection) and counts every request, so tests
can also assert that something was *not* downloaded twice.
"""

from __future__ import annotations

import fnmatch
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

#: Upper bound for injected delays, so a forgotten rule cannot hang a test run.
MAX_DELAY_SECONDS = 30.0


@dataclass
class FaultRule:
    """What to do with requests whose path matches `pattern` (fnmatch syntax).

    `times` limits how many matching requests the rule affects (None: all).
    """

    pattern: str
    status: int | None = None
    truncate_after: int | None = None
    delay: float = 0.0
    drop: bool = False
    times: int | None = None
    hits: int = 0

    def matches(self, path: str) -> bool:
        """Whether the rule applies to `path` and still has uses left."""
        if self.times is not None and self.hits >= self.times:
            return False
        return fnmatch.fnmatchcase(path, self.pattern)


class Faults:
    """Thread-safe rule list plus request log, shared with the handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = []
        self.requests: Counter[str] = Counter()
        self.log: list[tuple[str, str, int | None]] = []

    @staticmethod
    def _pattern(path: str) -> str:
        return path if path.startswith(("/", "*")) else "/" + path

    def add(self, path: str, **kwargs: Any) -> FaultRule:
        """Add a rule for `path` (leading ``/`` optional; ``*`` globs allowed)."""
        rule = FaultRule(self._pattern(path), **kwargs)
        with self._lock:
            self.rules.append(rule)
        return rule

    def fail(self, path: str, status: int = 500, times: int | None = 1) -> FaultRule:
        """Answer `status` for the next `times` requests (None: forever)."""
        return self.add(path, status=status, times=times)

    def not_found(self, path: str) -> FaultRule:
        """Pretend `path` does not exist."""
        return self.add(path, status=404)

    def truncate(self, path: str, after_bytes: int, times: int | None = None) -> FaultRule:
        """Send full headers but only `after_bytes` of the body, then hang up."""
        return self.add(path, truncate_after=after_bytes, times=times)

    def delay(self, path: str, seconds: float, times: int | None = None) -> FaultRule:
        """Wait (at most `MAX_DELAY_SECONDS`) before answering normally."""
        return self.add(path, delay=min(seconds, MAX_DELAY_SECONDS), times=times)

    def drop(self, path: str, times: int | None = 1, after: float = 0.0) -> FaultRule:
        """Close the connection without any response (optionally after a delay)."""
        return self.add(path, drop=True, times=times, delay=min(after, MAX_DELAY_SECONDS))

    def clear(self) -> None:
        """Forget rules and counters."""
        with self._lock:
            self.rules.clear()
            self.requests.clear()
            self.log.clear()

    def count(self, path: str) -> int:
        """Requests seen for `path` (exact), or summed over a glob pattern."""
        pattern = self._pattern(path)
        with self._lock:
            return sum(n for p, n in self.requests.items() if fnmatch.fnmatchcase(p, pattern))

    def _take(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            self.requests[path] += 1
            for rule in self.rules:
                if rule.matches(path):
                    rule.hits += 1
                    self.log.append((method, path, rule.status))
                    return rule
            self.log.append((method, path, None))
        return None


class _Handler(SimpleHTTPRequestHandler):
    """Static file handler consulting `Faults` before each GET/HEAD."""

    faults: Faults
    stopping: threading.Event

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: test output should not be flooded with access logs."""

    def _apply_faults(self, method: str) -> FaultRule | bool | None:
        path = unquote(urlsplit(self.path).path)
        rule = self.faults._take(method, path)
        if rule is None:
            return None
        if rule.delay:
            self.stopping.wait(rule.delay)
        if rule.drop:
            self.close_connection = True
            return True
        if rule.status is not None:
            self.send_error(rule.status)
            return True
        return rule

    def do_GET(self) -> None:
        """Serve a file, unless a rule says otherwise."""
        rule = self._apply_faults("GET")
        if rule is True:
            return
        body = self.send_head()
        if body is None:
            return
        with body:
            if isinstance(rule, FaultRule) and rule.truncate_after is not None:
                self.wfile.write(body.read(rule.truncate_after))
                self.wfile.flush()
                self.close_connection = True
            else:
                self.copyfile(body, self.wfile)

    def do_HEAD(self) -> None:
        """Headers only; faults apply like for GET."""
        if self._apply_faults("HEAD") is True:
            return
        body = self.send_head()
        if body is not None:
            body.close()


class ChannelServer:
    """A directory served on ``http://127.0.0.1:<free port>`` from a daemon thread."""

    def __init__(self, directory: Path, faults: Faults | None = None) -> None:
        self.directory = Path(directory)
        self.faults = faults or Faults()
        self._stopping = threading.Event()
        handler = type("Handler", (_Handler,), {"faults": self.faults, "stopping": self._stopping})
        self._httpd = ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(handler, directory=str(self.directory))
        )
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            args=(0.05,),
            name="mambaboot-channel-server",
            daemon=True,
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def count(self, path: str) -> int:
        """Shortcut for ``faults.count(path)``."""
        return self.faults.count(path)

    def close(self) -> None:
        """Stop serving; pending injected delays are cut short."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ChannelServer:
        return self

    def __exit__(
        self, exc: type[BaseException] | None, val: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@contextmanager
def serve_directory(path: Path, faults: Faults | None = None) -> Iterator[str]:
    """Serve `path`; yield the base URL. Pass `faults` to inject errors/count requests."""
    with ChannelServer(path, faults) as server:
        yield server.url
