#!/bin/sh
# Installer for the conda environment "@NAME@" (@PLATFORM@, @COUNT@ packages),
# written by `mambaboot export` @MAMBABOOT_VERSION@ on @DATE@.
#
#   sh install.sh [TARGET]      (default: @DIRNAME@ next to this script)
#
# It needs nothing but a POSIX shell: no Python, no conda, no mambaboot.
# Every step is below; read it before you run it. What it touches:
#   TARGET                         the new environment (removed again if anything fails)
#   <TARGET's folder>/.mambaboot-installer-cache
#                                  micromamba, its package cache and its root prefix
# What it never touches: your shell's rc files or profile, ~/.conda, ~/.mamba,
# ~/.condarc, or anything else outside those two folders.
set -eu

NAME='@NAME@'
PLATFORM='@PLATFORM@'
# micromamba does the actual install. Its version and sha256 are fixed here; a
# download (or mirror, MICROMAMBA_URL) whose sha256 differs is refused.
MICROMAMBA_VERSION='@MM_VERSION@'
MICROMAMBA_SHA256='@MM_SHA256@'
MICROMAMBA_URL="${MICROMAMBA_URL:-@MM_URL@}"
# @OFFLINE_NOTE@
OFFLINE='@OFFLINE@'
EMBEDDED_MICROMAMBA='@MM_FILE@'

HERE=$(cd "$(dirname "$0")" && pwd)
fail() { echo "install.sh: $*" >&2; exit 2; }

# 1. One environment per shell: refuse to run inside an active one (its
#    variables would leak into micromamba and into the new environment).
if [ -n "${CONDA_PREFIX:-}" ] || [ -n "${VIRTUAL_ENV:-}" ] || [ "${CONDA_SHLVL:-0}" != 0 ]; then
    fail "an environment is active in this shell (CONDA_PREFIX/VIRTUAL_ENV); open a new shell or deactivate it, then run this again."
fi

# 2. The packages are built for one platform: refuse any other.
case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) HERE_PLATFORM=linux-64 ;;
    Linux-aarch64|Linux-arm64) HERE_PLATFORM=linux-aarch64 ;;
    Darwin-x86_64) HERE_PLATFORM=osx-64 ;;
    Darwin-arm64) HERE_PLATFORM=osx-arm64 ;;
    *) HERE_PLATFORM="$(uname -s)-$(uname -m)" ;;
esac
[ "$HERE_PLATFORM" = "$PLATFORM" ] || fail "this environment is for $PLATFORM, but this machine is $HERE_PLATFORM; export it from an environment made on $HERE_PLATFORM."

# 3. Where it goes: a new folder (an existing one is never replaced). Spaces, tabs,
#    quotes, $, backslashes and backquotes are refused: #! lines cannot hold the
#    first ones, and a path printed for pasting must never run anything.
TARGET="${1:-$HERE/@DIRNAME@}"
if [ -z "$TARGET" ]; then fail "the target is empty; give a path such as /path/to/new-folder."; fi
case "$TARGET" in /*) ;; *) TARGET="$(pwd)/$TARGET" ;; esac
case "$TARGET" in
    *[[:space:]\"\'\$\`\\]*) fail "the target $TARGET contains a space, tab, quote, \$, backslash or backquote; choose a plain path." ;;
esac
NAME_PART=$(basename "$TARGET")
case "$NAME_PART" in .|..) fail "the target $TARGET names no new folder; give a path such as /path/to/new-folder." ;; esac
# The folder above is made, then the target is named through its real path, so
# that "new/../existing" can never slip past the check below.
mkdir -p "$(dirname "$TARGET")"
PARENT=$(cd "$(dirname "$TARGET")" && pwd -P)
TARGET="$PARENT/$NAME_PART"
if [ -e "$TARGET" ] || [ -L "$TARGET" ]; then
    fail "$TARGET already exists; remove it or give another folder: sh install.sh /path/to/new-folder"
fi
WORK="$PARENT/.mambaboot-installer-cache"
MM="$WORK/micromamba/$MICROMAMBA_VERSION/micromamba"
mkdir -p "$WORK/micromamba/$MICROMAMBA_VERSION" "$WORK/pkgs" "$WORK/root" "$WORK/home"

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
    else fail "neither sha256sum nor shasum is installed, so nothing can be verified; install coreutils."
    fi
}

# 4. micromamba: the copy in this folder, one downloaded before, or a download
#    (retried); whichever it is, its sha256 must be the one above.
if [ -n "$EMBEDDED_MICROMAMBA" ]; then
    cp "$HERE/$EMBEDDED_MICROMAMBA" "$MM.part"
elif [ ! -f "$MM" ]; then
    if [ "$OFFLINE" = 1 ]; then fail "micromamba is not in this folder; use a complete export."; fi
    echo "Downloading micromamba $MICROMAMBA_VERSION from $MICROMAMBA_URL"
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 3 --retry-delay 2 --retry-connrefused -o "$MM.part" "$MICROMAMBA_URL" \
            || fail "could not download $MICROMAMBA_URL; check the network (or set MICROMAMBA_URL to a mirror)."
    elif command -v wget >/dev/null 2>&1; then
        wget -q --tries=4 --waitretry=2 -O "$MM.part" "$MICROMAMBA_URL" \
            || fail "could not download $MICROMAMBA_URL; check the network (or set MICROMAMBA_URL to a mirror)."
    else
        fail "neither curl nor wget is installed; install one, or use an export made with --offline."
    fi
else
    cp "$MM" "$MM.part"
fi
GOT=$(sha256_of "$MM.part")
if [ "$GOT" != "$MICROMAMBA_SHA256" ]; then
    rm -f "$MM.part" "$MM"
    echo "install.sh: micromamba's sha256 is $GOT, not $MICROMAMBA_SHA256: refused (a wrong mirror, a proxy rewriting downloads, or tampering)." >&2
    exit 1
fi
chmod +x "$MM.part"
mv -f "$MM.part" "$MM"

# 5. The packages: with an --offline export they are in pkgs/ here; micromamba
#    checks each one against the sha256 in env.txt either way.
if [ "$OFFLINE" = 1 ]; then
    for archive in "$HERE"/pkgs/*; do
        if [ -f "$archive" ]; then cp "$archive" "$WORK/pkgs/"; fi
    done
fi

# 6. From here on, a failure (or Ctrl-C) removes the half-made environment.
cleanup() { rm -rf "$TARGET"; }
trap 'status=$?; if [ "$status" != 0 ]; then cleanup; fi' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 7. micromamba creates the environment from the exact package list, once:
#    a clean environment (no CONDA*/MAMBA* variables, no rc files, HOME in the
#    cache folder), its own root prefix and package cache.
set -- PATH="$PATH" HOME="$WORK/home" TMPDIR="${TMPDIR:-/tmp}" LANG=C \
    CONDA_PKGS_DIRS="$WORK/pkgs" MAMBA_ROOT_PREFIX="$WORK/root" \
    MAMBA_ADD_PIP_AS_PYTHON_DEPENDENCY=false
for var in HTTPS_PROXY HTTP_PROXY NO_PROXY https_proxy http_proxy no_proxy SSL_CERT_FILE SSL_CERT_DIR; do
    eval "value=\${$var:-}"
    if [ -n "$value" ]; then set -- "$@" "$var=$value"; fi
done
OFFLINE_FLAG=
if [ "$OFFLINE" = 1 ]; then OFFLINE_FLAG=--offline; fi
echo "Creating $TARGET ($NAME, @COUNT@ packages)"
env -i "$@" "$MM" create --yes --prefix "$TARGET" --file "$HERE/env.txt" --no-rc \
    --root-prefix "$WORK/root" $OFFLINE_FLAG \
    || { echo "install.sh: micromamba create failed (see above); nothing was kept." >&2; exit 1; }
# micromamba 2.3 lists the .pyc files of noarch: python packages (conda among them)
# in conda-meta but does not write them when it installs from an explicit list:
# the environment's own python compiles them, as a create from a solve does.
if [ -x "$TARGET/bin/python" ]; then
    for site in "$TARGET"/lib/python3*/site-packages; do
        if [ -d "$site" ]; then
            env -i PATH="$PATH" "$TARGET/bin/python" -m compileall -q -j 0 "$site" >/dev/null 2>&1 || true
        fi
    done
fi

# 8. What mambaboot writes into every environment, so that `mambaboot list`,
#    `verify` and `remove` treat this one as their own: the activation scripts
#    (portable: they find the environment from their own location), the lock,
#    and env.json last (its presence means "complete").
mkdir -p "$TARGET/.mambaboot"
for script in "$HERE"/mambaboot/activate.* "$HERE"/mambaboot/deactivate.*; do
    if [ -f "$script" ]; then cp "$script" "$TARGET/"; fi
done
if [ -f "$HERE/mambaboot/condarc" ]; then cp "$HERE/mambaboot/condarc" "$TARGET/.condarc"; fi
cp "$HERE/lock.yml" "$TARGET/.mambaboot/lock.yml"
cp "$HERE/mambaboot/env.json" "$TARGET/.mambaboot/env.json.part"
mv "$TARGET/.mambaboot/env.json.part" "$TARGET/.mambaboot/env.json"
trap - EXIT INT TERM

echo "Created $TARGET"
echo "Enter it with (bash, zsh):  . '$TARGET/activate.sh'"
