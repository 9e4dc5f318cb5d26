"""One error hierarchy: every failure a user can see is a MambabootError.

Each error carries a message that names the problem *and* the fix, plus the
exit code the CLI returns for it (1 = the operation failed, 2 = bad input).
The CLI prints ``str(error)`` and nothing else unless ``-v`` is given, so the
message must stand on its own as one sentence.

Every error class lives here, so an error raised in an engine's child process
can be rebuilt as the same class in the parent (``to_json``/``from_json``):
the wire carries a class *name*, which is looked up among the classes of this
module only (never imported or evaluated). This module is standard library
only and cheap to import: ``mambaboot run``, the hot path, imports it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # importing typing costs `run` ~3 ms of start-up
if TYPE_CHECKING:
    from typing import Any


class MambabootError(Exception):
    """An operation failed; the message says why and what to do."""

    exit_code = 1

    def __init__(self, message: str, *, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: Extra lines (a solver report, the tail of a log) shown under the message.
        self.details = details

    def to_json(self) -> dict[str, Any]:
        """The error as plain data for the worker protocol; ``from_json`` rebuilds it.

        ``fields`` holds the instance's own attributes besides message and
        details (only JSON-safe values: anything else cannot cross a pipe).
        """
        fields = {key: value for key, value in vars(self).items()
                  if key not in ("message", "details") and _plain(value)}
        return {"error": type(self).__name__, "exit_code": self.exit_code,
                "message": self.message, "details": self.details, "fields": fields}


class UsageError(MambabootError):
    """The user asked for something malformed (a bad name, version, file)."""

    exit_code = 2


class ActiveEnvironmentError(UsageError):
    """The calling shell already has an environment active (one env per shell)."""


class NotAnEnvironmentError(MambabootError):
    """A path was given that is not a mambaboot environment."""


class EnvironmentExistsError(MambabootError):
    """The target prefix already holds a usable environment."""


class ChannelError(MambabootError):
    """A channel cannot be read (missing directory, no repodata, HTTP error)."""


class SolveError(MambabootError):
    """The requested specs cannot be satisfied from the channels."""


class EngineError(MambabootError):
    """The engine failed or crashed while installing packages."""


class VerificationError(MambabootError):
    """A freshly created environment does not work (python does not run...)."""


class BusyError(MambabootError):
    """Another mambaboot process holds the lock for this environment."""


class UnsafePackageError(MambabootError):
    """A package would write outside the prefix, or is malformed in a way that could."""


class HashMismatchError(MambabootError):
    """An archive's bytes are not the ones the lockfile names."""


class MissingPackagesError(MambabootError):
    """--offline and the cache does not hold everything."""


class DownloadError(MambabootError):
    """A file could not be fetched (network, HTTP status, timeout)."""


class ObjectFetchError(DownloadError):
    """One attempt to read an s3:// gcs:// oci:// object failed (the caller retries)."""


class ChecksumError(DownloadError):
    """A file's sha256 is missing, malformed or differs from the expected one."""


class LockFormatError(UsageError):
    """A lockfile or @EXPLICIT file cannot be read."""


class CommandNotFoundError(MambabootError):
    """The command is not on the environment's PATH (nor the inherited one)."""

    exit_code = 127


class CommandNotRunnableError(MambabootError):
    """The command exists but cannot be executed (permissions, bad format)."""

    exit_code = 126


class ActivateScriptTimeoutError(MambabootError):
    """An activate.d script did not finish in time while ``run`` measured it."""


class MissingBinaryError(MambabootError):
    """The micromamba binary is not in the cache and we may not (offline) or cannot fetch it."""


def _plain(value: Any) -> bool:
    """Whether ``value`` survives a JSON round trip unchanged (strings, numbers, lists, dicts)."""
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _classes() -> dict[str, type[MambabootError]]:
    return {name: obj for name, obj in globals().items()
            if isinstance(obj, type) and issubclass(obj, MambabootError)
            and obj.__module__ == __name__}


def from_json(data: dict[str, Any]) -> MambabootError:
    """Rebuild an error sent by ``to_json``: the same class, message, details and fields.

    A name that is not a class of this module (a newer child, a corrupt line)
    becomes a plain ``MambabootError`` with the exit code that was sent.
    """
    cls = _classes().get(str(data.get("error", "")), MambabootError)
    message = str(data.get("message") or "")
    details = data.get("details")
    error = cls.__new__(cls, message)
    MambabootError.__init__(error, message, details=str(details) if details else None)
    fields = data.get("fields")
    if isinstance(fields, dict):
        for key, value in fields.items():
            if isinstance(key, str) and key.isidentifier() and not key.startswith("_"):
                setattr(error, key, value)
    code = data.get("exit_code")
    if isinstance(code, int) and not isinstance(code, bool) and code != error.exit_code:
        error.exit_code = code
    return error
