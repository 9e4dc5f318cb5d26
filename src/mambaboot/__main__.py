"""``python -m mambaboot`` is the same as the ``mambaboot`` command."""

from __future__ import annotations

from mambaboot.cli import main

raise SystemExit(main())
