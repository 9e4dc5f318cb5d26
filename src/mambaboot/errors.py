"""One error hierarchy: every failure a user can see is a MambabootError.

Each error carries a message that names the problem *and* the fix, plus the
exit code the CLI returns for it (1 = the operation failed, 2 = bad input).
The CLI prints ``str(error)`` and nothing else unless ``-v`` is given, so the
message must stand on its own as one sentence.
"""

from __future__ import annotations


class MambabootError(Exception):
    """An operation failed; the message says why and what to do."""

    exit_code = 1

    def __init__(self, message: str, *, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: Extra lines (a solver report, the tail of a log) shown under the message.
        self.details = details


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
