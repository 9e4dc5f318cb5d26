"""Checking an environment: the smoke test, file hashes and drift from its lockfile."""
