"""mambaboot: sealed conda environments with no shell hooks, registry edits or rc files."""

from __future__ import annotations

__version__ = "0.1.0"
