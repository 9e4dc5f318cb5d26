"""Skip markers for tests that need what only some platforms have (Linux is the reference)."""

from __future__ import annotations

import sys

import pytest

#: pexpect has no ``spawn`` on Windows (it needs a POSIX pseudo-terminal).
needs_pty = pytest.mark.skipif(sys.platform == "win32",
                               reason="a pseudo-terminal (pexpect.spawn) is POSIX-only")
