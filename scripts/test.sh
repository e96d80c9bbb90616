#!/usr/bin/env bash
# Installs everything the tests need and runs them all: lint, unit, AppTest and real-browser tests.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k config -x`).
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# Debian packages: Chromium for the browser tests (Playwright's own browser download needs hosts
# these machines cannot reach) and nginx for the scale-out recipe's test (scripts/serve.sh).
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # The test runs its own nginx on free loopback ports: a policy-rc.d answering 101 keeps the
  # package from starting a system nginx on port 80.
  guard=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    guard=1
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null || status=$?
  [ "$guard" = 0 ] || $SUDO rm -f /usr/sbin/policy-rc.d
  [ "$status" = 0 ]
fi
export NNPLAY_REQUIRE_BROWSER=1

python -m ruff check .
python -m pytest "$@"
