"""Lockfiles: ours, pixi.lock and @EXPLICIT; written after every create; exported.

Our lockfile *is* the rattler lock format (what pixi.lock uses), one
environment ``default`` and one platform, so pixi and rattler tooling read it.
It is written by ``session.create`` as its own step, from the prefix's
conda-meta (what is installed, whichever engine installed it), and by
``mambaboot lock`` the same way. Reading and writing that format is
py-rattler's native code, so it runs in the rattler worker
(``engines.rattler.lockrecords``), never in the calling process: this module
only asks the worker, and itself handles what needs no rattler (@EXPLICIT
files are ``packages.explicit``; this module does the environment.yml export
and decides where exports go).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mambaboot.engines.rattler import WORKER
from mambaboot.errors import MambabootError, UsageError
from mambaboot.events import ProgressCallback, no_progress
from mambaboot.packages.fetch import Wanted
from mambaboot.results import LockResult

if TYPE_CHECKING:
    from mambaboot.child import Worker
    from mambaboot.pypi import Wheel



def write(prefix: Path, channels: Sequence[str], *, export: str | None = None,
          progress: ProgressCallback = no_progress, worker: Worker | None = None,
          ) -> dict[str, Any]:
    """Rewrite ``PREFIX/.mambaboot/lock.yml`` from conda-meta (in the rattler worker).

    Returns ``{"count": N, "text": ...}``: ``text`` is the @EXPLICIT export
    when ``export="explicit"``, else None. ``worker``: a rattler worker that
    is already running (a create's), else one is started for this.
    """
    from mambaboot import child, pypi

    request = {"op": "write-lock", "prefix": str(prefix), "channels": list(channels),
               "export": export}
    if worker is not None:
        reply = worker.call(request, progress, doing=" while writing the lockfile")
    else:
        reply = child.run(WORKER, request, progress, what="The lockfile writer",
                          doing=" while writing the lockfile")
    # the PyPI wheels mambaboot installed join the lock as pixi.lock writes them
    wheels = pypi.recorded(prefix)
    pypi.add_to_lock(prefix / ".mambaboot" / "lock.yml", wheels)
    return {**reply, "pypi": len(wheels)}


def read_wanted(path: Path) -> tuple[list[Wanted], list[Wheel]]:
    """The archives and PyPI wheels a lockfile (ours or a pixi.lock) asks for here."""
    from mambaboot import child
    from mambaboot.pypi import Wheel

    reply = child.run(WORKER, {"op": "read-lock", "lock": str(path)},
                      what="The lockfile reader", doing=" while reading the lockfile")
    return ([Wanted(**w) for w in reply["wanted"]],
            [Wheel.from_json(w) for w in reply.get("pypi") or []])


# ``mambaboot lock``: refresh lock.yml from conda-meta, then export it.

FORMATS = ("rattler", "explicit", "environment-yml")


def environment_yml(name: str, channels: list[str], specs: list[str],
                    pypi: Sequence[str] = ()) -> str:
    """The requested specs as a conda environment.yml (not pinned: the lock is the pin),
    with the PyPI packages as a ``pip:`` section (pinned: that is what was installed)."""
    import yaml

    deps: list[Any] = list(specs)
    if pypi:
        deps.append({"pip": list(pypi)})
    return yaml.safe_dump({"name": name, "channels": channels, "dependencies": deps},
                          sort_keys=False)


def lock_env(env: Path, format: str = "rattler", output: Path | None = None) -> LockResult:
    """Rewrite ``env``'s lock.yml from what is installed now; export it as ``format``.

    With ``output`` the export is written there (for ``rattler``, a copy of
    lock.yml); without it the export's text is returned in ``content`` (no
    content for a plain ``rattler`` refresh).
    """
    from mambaboot.prefix import require_env

    if format not in FORMATS:
        raise UsageError(f"The lock format {format!r} is not one of {', '.join(FORMATS)}; "
                         "choose one of them.")
    prefix = require_env(env)
    manifest = prefix.read_manifest()
    raw_channels = manifest.get("channels", [])
    channels = [str(c) for c in raw_channels] if isinstance(raw_channels, list) else []
    _require_writable(prefix.lockfile.parent)
    reply = write(prefix.path, channels, export=format)
    count = int(reply["count"])
    text: str | None = reply.get("text")
    from mambaboot.pypi import recorded, recorded_options

    wheels = recorded(prefix.path)
    if format == "environment-yml":
        raw_specs = manifest.get("specs", [])
        text = environment_yml(str(manifest.get("name", prefix.name)), channels,
                               [str(s) for s in raw_specs] if isinstance(raw_specs, list) else [],
                               [*(recorded_options(prefix.path) if wheels else []),
                                *(f"{w.name}=={w.version}" for w in wheels)])
    elif format == "explicit" and text is not None and wheels:
        # @EXPLICIT holds conda packages only: the PyPI ones are named, never dropped silently
        text += ("# PyPI packages (not installable from an @EXPLICIT file; use lock.yml):\n"
                 + "".join(f"#   {w.name}=={w.version} {w.url} sha256:{w.sha256}\n"
                           for w in wheels))
    elif format == "rattler" and output is not None:  # its export is lock.yml itself
        text = prefix.lockfile.read_text(encoding="utf-8")
    if text is not None and output is not None:
        _write_export(Path(output), text)
        return LockResult(prefix.lockfile, count, format, Path(output))
    return LockResult(prefix.lockfile, count, format, None, text)


def _write_export(path: Path, text: str) -> None:
    """Write the export, or one sentence on why it cannot be written."""
    if path.is_dir():
        raise UsageError(f"-o {path} is a directory; give a file name, e.g. {path / 'env.txt'}.")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MambabootError(f"Cannot write {path} ({exc.strerror}); choose a writable path "
                             "with -o.") from None


def _require_writable(folder: Path) -> None:
    """The engine's own writer reports a read-only disk as a bare IoError: ask first."""
    import os

    probe = folder / f".lock-probe-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise MambabootError(
            f"Cannot refresh the lockfile in {folder} ({exc.strerror}); make the environment "
            "writable, or export without refreshing by reading "
            f"{folder / 'lock.yml'} as it is.") from None
