#!/usr/bin/env bash
# Browser tests of the web UI. Expects the binaries to be built already
# (`cargo build --workspace --bins`: the server, and examples/telemetry-demo as
# the real SDK; override their paths with SWITCHYARD_BIN / TELEMETRY_DEMO_BIN).
# Installs Debian's Chromium if it is missing (never a Playwright browser
# download), installs playwright-core from the lock file, runs `node --test`.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  echo "run.sh: installing Debian's chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null 2>&1; then
  echo "run.sh: installing nodejs and npm" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi

# Never download Playwright's own browsers.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

exec node --test --test-concurrency=1 --test-reporter=spec "$@"
