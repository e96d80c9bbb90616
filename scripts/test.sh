#!/usr/bin/env bash
# Installs everything the tests need and runs them all: lint, unit, AppTest and real-browser tests.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k config -x`).
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# The browser tests drive Debian's Chromium through Playwright; Playwright's own browser
# download is never used (it needs hosts these machines cannot reach).
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
export NNPLAY_REQUIRE_BROWSER=1

python -m ruff check .
python -m pytest "$@"
