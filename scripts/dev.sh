#!/usr/bin/env bash
# The quick start's two commands, on a clean machine:
#   scripts/dev.sh up     local chain + deploy + demo city + API server (Ctrl-C stops the server)
#   scripts/dev.sh test   the whole test suite (starts its own chain nodes)
# Each installs what it needs first: Debian packages (Python venv, Node.js; PostgreSQL, Chromium
# and its driver for the tests) if missing, Python packages into .venv, npm packages (solc, ganache, anvil, OpenZeppelin)
# into node_modules.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
# Run an install step quietly: its output goes to .vpl/install.log, shown only if it fails.
quiet() {
  mkdir -p .vpl
  if ! "$@" >>.vpl/install.log 2>&1; then
    tail -n 40 .vpl/install.log >&2
    say "failed: $* (the whole output is in .vpl/install.log)"
    exit 1
  fi
}

need_apt=()
python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  || need_apt+=(python3 python3-venv python3-pip)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
# The tests also run the event index against a PostgreSQL server they start themselves.
if [ "${1:-}" = test ] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  need_apt+=(postgresql)
fi
# ... and the auditors' explorer page in a real headless browser (Selenium drives chromium).
if [ "${1:-}" = test ] && ! command -v chromedriver >/dev/null 2>&1; then
  need_apt+=(chromium chromium-driver)
fi
if ((${#need_apt[@]})); then
  say "installing Debian packages: ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
  quiet "${SUDO[@]}" apt-get update -qq
  quiet env DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${need_apt[@]}"
fi

stamp() { sha256sum "$@" | sha256sum | cut -c1-16; }

py_stamp=$(stamp pyproject.toml)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.vpl-stamp 2>/dev/null)" != "$py_stamp" ]; then
  say "installing Python packages into .venv"
  [ -x .venv/bin/python ] || quiet python3 -m venv .venv
  quiet .venv/bin/python -m pip install -q --upgrade pip
  quiet .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$py_stamp" > .venv/.vpl-stamp
fi

npm_stamp=$(stamp package.json package-lock.json)
if [ ! -d node_modules ] || [ "$(cat node_modules/.vpl-stamp 2>/dev/null)" != "$npm_stamp" ]; then
  say "installing npm packages (solc, ganache, anvil, OpenZeppelin Contracts)"
  # The lock lists every platform's anvil binary (tests/test_setup.py checks it), so `npm install`
  # leaves it as committed and a fresh clone's work tree stays clean.
  quiet npm install --no-audit --no-fund --loglevel=error
  echo "$npm_stamp" > node_modules/.vpl-stamp
fi

# Slither (static analysis of the contracts, tests/test_slither.py) pins web3 7: a venv of its own.
if [ "${1:-}" = test ]; then
  slither_stamp=$(stamp scripts/slither-requirements.txt)
  if [ "$(cat .vpl/slither-venv/.vpl-stamp 2>/dev/null)" != "$slither_stamp" ]; then
    say "installing Slither into .vpl/slither-venv"
    quiet python3 -m venv .vpl/slither-venv
    quiet .vpl/slither-venv/bin/python -m pip install -q -r scripts/slither-requirements.txt
    echo "$slither_stamp" > .vpl/slither-venv/.vpl-stamp
  fi
fi

cmd="${1:-}"
shift || true
case "$cmd" in
  up)   exec .venv/bin/vpl up "$@" ;;
  # Two test processes (pytest-xdist): most of a test's time is waiting for a node, so two keep
  # both cores busy; the validator-network tests stay together in one. VPL_TEST_WORKERS=0: one.
  test) exec .venv/bin/python -m pytest -n "${VPL_TEST_WORKERS:-2}" --dist loadgroup "$@" ;;
  vpl)  exec .venv/bin/vpl "$@" ;;
  *)    echo "usage: scripts/dev.sh up|test|vpl [args...]" >&2; exit 2 ;;
esac
