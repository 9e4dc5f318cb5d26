#!/usr/bin/env bash
# The whole test suite on a fresh machine: system packages, a venv, the tool, the tests.
# Usage: bash scripts/test.sh [pytest args...]     (.ci/run calls exactly this)
set -euo pipefail
cd "$(dirname "$0")/.."

# Shells the activation scripts are executed in, wine for the .bat files, and mingw-w64
# for the small Windows programs install.bat is tested with (tests/support/windows_standins).
missing=()
for tool in wine zsh fish x86_64-w64-mingw32-gcc; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    # Another apt (unattended upgrades, a second CI job) may hold the lock: wait for
    # it (up to 10 min) instead of failing with rc 100.
    apt_wait=(-o DPkg::Lock::Timeout=600 -o APT::Lock::Timeout=600)
    for attempt in 1 2 3; do
      apt-get "${apt_wait[@]}" update -qq && break
      echo "scripts/test.sh: apt-get update failed (attempt $attempt); retrying" >&2
      sleep 10
    done
    apt-get "${apt_wait[@]}" install -y -qq --no-install-recommends wine zsh fish \
      gcc-mingw-w64-x86-64 >/dev/null
  else
    echo "scripts/test.sh: missing ${missing[*]}; install them (Debian: apt-get install wine zsh fish gcc-mingw-w64-x86-64)." >&2
  fi
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

# The type checker first ([tool.mypy] in pyproject.toml): a type error fails the run here.
.venv/bin/python -m mypy

# Tests must never see a conda/venv/python environment of the caller.
unset CONDA_PREFIX CONDA_SHLVL CONDA_DEFAULT_ENV PYTHONHOME PYTHONPATH VIRTUAL_ENV MAMBABOOT_ROOT \
      MAMBABOOT_CACHE PY_ENVS CONDA_PKGS_DIRS || true
exec .venv/bin/python -m pytest "$@"
