#!/usr/bin/env bash
# Set up auxduty on a Debian/Ubuntu machine: system libraries, a virtualenv with the project, and a check
# of the local PostgreSQL and Redis. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Python 3.11 or newer.
PY=""
for candidate in python3.11 python3.12 python3.13 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PY=$(command -v "$candidate"); break
  fi
done
[ -n "$PY" ] || die "Python 3.11 or newer is needed (sudo apt-get install python3.11 python3.11-venv)"

# System packages: zbar for pyzbar (QR decoding), a CJK font for badge cards, Chromium for page tests, nginx
# for the two-host topology of scripts/cluster.sh (its own nginx, started by that script, never the system's).
need=()
for pkg in libzbar0 fonts-noto-cjk ${AUXDUTY_SETUP_BROWSER:+chromium} ${AUXDUTY_SETUP_CLUSTER:+nginx}; do
  # Any nginx will do (nginx-light, nginx-full, one built by hand): the binary is what cluster.sh runs.
  [ "$pkg" = nginx ] && { command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null 2>&1 && continue
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  say "installing system packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  if command -v apt-get >/dev/null && $SUDO true 2>/dev/null; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    die "missing system packages: ${need[*]}
  install them as root:  sudo apt-get install ${need[*]}
  (libzbar0 is the zbar library that pyzbar loads to read QR codes; without it photo verification cannot work)"
  fi
fi
ldconfig -p 2>/dev/null | grep -q libzbar || [ -e /usr/lib/x86_64-linux-gnu/libzbar.so.0 ] || [ -e /usr/lib/aarch64-linux-gnu/libzbar.so.0 ] \
  || die "libzbar0 is installed but the zbar library is not found; try: sudo apt-get install --reinstall libzbar0"

# The virtualenv, reinstalled only when pyproject.toml changed.
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $PY"
  if ! "$PY" -m venv .venv 2>/dev/null; then
    # Debian and Ubuntu ship venv/ensurepip separately.
    rm -rf .venv
    venv_pkg="python3-venv"; "$PY" -c 'import sys; sys.exit(sys.version_info[:2] == (3, 11))' || venv_pkg="python3.11-venv python3-venv"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
    if command -v apt-get >/dev/null && $SUDO true 2>/dev/null; then
      say "installing $venv_pkg"
      $SUDO apt-get update -qq
      # shellcheck disable=SC2086
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $venv_pkg >/dev/null 2>&1 \
        || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    fi
    "$PY" -m venv .venv || die "cannot create a virtualenv: sudo apt-get install python3-venv (or python3.11-venv)"
  fi
fi
stamp=.venv/.auxduty-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  say "installing auxduty and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
  touch "$stamp"
fi
.venv/bin/python -c 'from pyzbar import pyzbar' 2>/dev/null \
  || die "pyzbar cannot load the zbar library: sudo apt-get install libzbar0"

# axe-core for the browser tests' accessibility checks, from the npm registry at the locked version.
if [ -n "${AUXDUTY_SETUP_BROWSER:-}" ]; then
  lock=tests/a11y/package-lock.json; mark=tests/a11y/node_modules/.auxduty-installed
  if [ ! -f "$mark" ] || [ "$lock" -nt "$mark" ]; then
    if ! command -v npm >/dev/null; then
      say "installing npm (for axe-core)"
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
      $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null \
        || die "npm is needed for the accessibility checks: sudo apt-get install npm"
    fi
    say "installing axe-core (npm ci)"
    npm ci --prefix tests/a11y --no-audit --no-fund --loglevel=error >/dev/null
    touch "$mark"
  fi
fi
