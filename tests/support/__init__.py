"""Test helpers shared by the unit and integration tests (no tests are collected here).

Import decision: every test folder is a package (``tests/__init__.py``, ``tests/unit/...``),
so pytest's default ``prepend`` import mode puts the repository root on ``sys.path`` and
names each test module by its full dotted path (``tests.unit.engines.rattler.test_engine``):
two test files may share a base name in different folders, as the mirror of ``src/`` needs.
Helpers are therefore imported as ``tests.support.X``, never as bare top-level modules::

    from tests.support.sandbox import Sandbox

Fixture modules (``channel_fixtures``, ``wine``) are loaded for the whole suite by
``pytest_plugins`` in ``tests/conftest.py``. ``shared`` builds expensive session
artefacts (the demo channel, the wine prefix) once per run, not once per
pytest-xdist worker. ``guard_mutants`` is a script: ``python -m tests.support.guard_mutants``.
"""
