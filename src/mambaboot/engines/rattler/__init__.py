"""The embedded engine: py-rattler in a child process (``engine`` parent side, ``worker`` child)."""
