#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/CompGrid.Browser.Tests drive it through Microsoft.Playwright's
# ExecutablePath; Playwright cannot download its own browsers here). Named after the tests' category (Category=Browser).
# No daemon: `start` installs the package if it is missing and writes $COMPGRID_STATE/env/browser.env
# (COMPGRID_CHROMIUM=/usr/bin/chromium, COMPGRID_BROWSER_ARTIFACTS=<state>/test-results/browser for the screenshots);
# `stop` removes the env file. Each test run starts one browser (the tests' collection fixture), never this script.
#   eng/backends/browser.sh start|stop
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

exe=/usr/bin/chromium

start() {
  [ -x "$exe" ] || cg_apt_install chromium
  [ -x "$exe" ] || { cg_log "chromium: $exe is missing after installing chromium"; return 1; }
  cg_env browser "COMPGRID_CHROMIUM=$exe" "COMPGRID_BROWSER_ARTIFACTS=$COMPGRID_STATE/test-results/browser"
  cg_log "chromium: $("$exe" --version 2>/dev/null | head -n 1)"
}

stop() { rm -f "$COMPGRID_STATE/env/browser.env"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
