"""The embedded engine: py-rattler in a child process (``engine`` parent side, ``worker`` child)."""

from mambaboot.child import RATTLER_WORKER

#: The child process running py-rattler: installs, vets, reads and writes locks.
WORKER = RATTLER_WORKER
