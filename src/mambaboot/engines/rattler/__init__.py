"""The embedded engine: py-rattler in a child process (``engine`` parent side, ``worker`` child)."""

#: The child process running py-rattler: installs, vets, reads and writes locks.
WORKER = "mambaboot.engines.rattler.worker"
