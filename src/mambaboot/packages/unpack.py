"""Unpack archives with the engine's own reader, in parallel, watched while they unpack.

Each archive of a cold create is read once: rattler's reader (the one that
unpacks for ``rattler.install``) unpacks it into a staging folder, hashing the
bytes it reads, and the finished tree is checked (``rules.check_extracted``):
what is checked is what gets linked, and no second reader can see the archive
differently. (An earlier version first streamed every archive through Python's
tar reader to look for bombs and tricks: the second decompression doubled a
cold create's CPU time, issue 15.)

Why child processes (``python -m mambaboot.packages.unpack``): py-rattler's
``extract`` holds the GIL for the whole archive (measured: a watching thread
gets no turn), so threads neither unpack in parallel nor can watch an unpack in
progress. Here up to ``PROCESSES`` unpackers work at once, and the calling
process, which only waits, polls the file system meanwhile: an unpacker whose
staging folder grows past its package's budget (bytes or members) is killed, so
a decompression bomb is stopped while it unpacks and never fills the disk. The
exact count on the finished tree catches whatever unpacked between two polls.

What the engine's reader itself guarantees while unpacking (tar-rs, checked
by tests/integration/test_hostile.py for both formats): it writes nothing
outside the staging folder (``..`` members are skipped, absolute names made
relative, symlinked parents and hard links to outside refused).
"""

# The parent-death guard must run before the slow import below (rattler: ~100 ms).
from __future__ import annotations

if __name__ == "__main__":
    from mambaboot.child import die_with_parent

    die_with_parent()
    import rattler.package_streaming  # noqa: F401 - imported while the parent still fetches

import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Future

from mambaboot.errors import EngineError, UnsafePackageError
from mambaboot.fsutil import discard_tree
from mambaboot.packages.rules import Contents, check_extracted, refuse, too_big, too_many

MODULE = "mambaboot.packages.unpack"
#: Unpackers at most (each is a process that imported rattler: ~100 ms, ~40 MB).
PROCESSES = min(os.cpu_count() or 1, 4)
#: Seconds between two looks at the file system while archives unpack.
POLL = 0.02
#: Staging folders are measured at least this often (seconds), for file systems whose
#: free-space count lags behind the writes.
MEASURE_EVERY = 0.25


@dataclass(frozen=True)
class Job:
    """One archive to unpack into ``staging`` and check there."""

    archive: Path
    staging: Path
    label: str
    sha256: str
    budget: int
    max_members: int

    def request(self) -> dict[str, Any]:
        return {"op": "unpack", "archive": str(self.archive), "staging": str(self.staging),
                "label": self.label, "sha256": self.sha256, "budget": self.budget,
                "max_members": self.max_members}


def unpack_checked(job: Job) -> Contents:
    """Unpack ``job`` with rattler's reader and check the tree (runs in the unpacker)."""
    from rattler.package_streaming import extract

    try:
        sha256, _md5 = extract(job.archive, job.staging)
    except Exception as exc:  # rattler's reader refused or failed: never link it
        raise refuse(job.label, f"the engine could not unpack it ({exc})") from None
    if sha256.hex() != job.sha256:
        raise refuse(job.label, "the bytes unpacked are not the ones whose sha256 was checked "
                                "(the archive changed while it was read)")
    return check_extracted(job.staging, job.label, budget=job.budget,
                           max_members=job.max_members)


class _Running:
    """One job in flight: its unpacker, and why it was stopped (if it was)."""

    def __init__(self, job: Job, worker: Any) -> None:
        self.job, self.worker = job, worker
        self.stopped: UnsafePackageError | None = None


class Unpacker:
    """A few unpacker processes, started at once so their imports overlap the downloads.

    ``run`` unpacks jobs in parallel and hands each checked tree to the
    caller's thread; the first failure stops the rest (their staging folders
    are removed) and is raised. Used as a context manager: leaving it ends the
    processes.
    """

    def __init__(self, jobs: int, pkgs: Path) -> None:
        from mambaboot.child import Worker

        self.pkgs = pkgs
        self.size = max(1, min(PROCESSES, jobs))
        self.idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.all = [Worker(MODULE, what="The package unpacker") for _ in range(self.size)]
        for worker in self.all:
            self.idle.put(worker)
        self.running: set[_Running] = set()
        self.lock = threading.Lock()

    def run(self, jobs: Sequence[Job], done: Callable[[Job, Contents], None]) -> None:
        """Unpack every job; ``done(job, contents)`` runs in this thread as each one ends."""
        # imported here: a warm create unpacks nothing and need not load it
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        with ThreadPoolExecutor(self.size) as pool:
            pending: dict[Future[Contents], Job] = {pool.submit(self._one, j): j for j in jobs}
            seen = (_usage(self.pkgs), time.monotonic())
            try:
                while pending:
                    finished, _ = wait(pending, timeout=POLL, return_when=FIRST_COMPLETED)
                    for future in finished:
                        job = pending.pop(future)
                        try:
                            done(job, future.result())
                        finally:
                            discard_tree(job.staging)
                    seen = self._watch(seen)
            except BaseException:
                for future in pending:
                    future.cancel()
                self.kill()
                raise

    def _one(self, job: Job) -> Contents:
        """In a pool thread: one job on an idle unpacker (a fresh one if it was spent)."""
        worker = self.idle.get()
        if worker.broken:
            worker = self._replace(worker)
        running = _Running(job, worker)
        with self.lock:
            self.running.add(running)
        try:
            reply = worker.call(job.request(), doing=f" while unpacking {job.label}",
                                advice="run the same command again")
            return Contents.from_json(reply["contents"])
        except (EngineError, UnsafePackageError):
            discard_tree(job.staging)
            if running.stopped is not None:
                raise running.stopped from None
            raise
        finally:
            with self.lock:
                self.running.discard(running)
            self.idle.put(worker)

    def _replace(self, worker: Any) -> Any:
        from mambaboot.child import Worker

        fresh = Worker(MODULE, what="The package unpacker")
        with self.lock:
            self.all = [fresh if w is worker else w for w in self.all]
        return fresh

    def _watch(self, seen: tuple[tuple[int, int | None], float]
               ) -> tuple[tuple[int, int | None], float]:
        """Stop an unpacker whose staging folder is past its budget; the new baseline.

        The file system's used bytes (and inodes, where there are any) are one
        cheap call; folders are only walked once that has grown by half the
        smallest budget in flight (or every ``MEASURE_EVERY`` seconds), so
        normal packages cost one call per poll.
        """
        with self.lock:
            running = list(self.running)
        (used, inodes), last = seen
        now = _usage(self.pkgs)
        clock = time.monotonic()
        if not running:
            return now, clock
        grew = now[0] - used >= min(r.job.budget for r in running) // 2
        if now[1] is not None and inodes is not None:
            grew = grew or now[1] - inodes >= min(r.job.max_members for r in running) // 2
        if not grew and clock - last < MEASURE_EVERY:
            return seen
        for run in running:
            size, members = _measure(run.job.staging)
            if size > run.job.budget:
                run.stopped = too_big(run.job.label, run.job.budget)
            elif members > run.job.max_members:
                run.stopped = too_many(run.job.label, run.job.max_members)
            if run.stopped is not None:
                run.worker.kill()
        return now, clock

    def kill(self) -> None:
        for worker in self.all:
            if worker.proc.poll() is None:
                worker.kill()

    def __enter__(self) -> Unpacker:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.kill()
        else:
            for worker in self.all:
                worker.close()


def _usage(path: Path) -> tuple[int, int | None]:
    """Bytes (and inodes, on POSIX) in use on ``path``'s file system."""
    if hasattr(os, "statvfs"):
        st = os.statvfs(path)
        return (st.f_blocks - st.f_bfree) * st.f_frsize, st.f_files - st.f_ffree
    return shutil.disk_usage(path).used, None


def _measure(folder: Path) -> tuple[int, int]:
    """Bytes of regular files and number of entries under ``folder``, as they are now."""
    size = members = 0
    stack = [str(folder)]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    members += 1
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        elif entry.is_file(follow_symlinks=False):
                            size += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue  # removed or replaced while we looked
        except OSError:
            continue
    return size, members


def _serve_unpack(request: dict[str, Any], _emit: Any) -> dict[str, Any]:
    job = Job(Path(request["archive"]), Path(request["staging"]), str(request["label"]),
              str(request["sha256"]), int(request["budget"]), int(request["max_members"]))
    return {"contents": unpack_checked(job).to_json()}


if __name__ == "__main__":
    from mambaboot.child import serve

    serve({"unpack": _serve_unpack})
