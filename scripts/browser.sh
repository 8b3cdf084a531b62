#!/usr/bin/env bash
# Installs Debian's Chromium (apt-get, when missing) for the console's real-browser tests
# (package console, driven by chromedp) and prints the environment they read; use it as:
#   eval "$(scripts/browser.sh)"
# Everything but the export line goes to stderr. Idempotent: an installed Chromium is kept.
set -euo pipefail

log() { echo "browser: $*" >&2; }

# chromium_path prints the first Chromium executable found, or nothing.
chromium_path() {
  local p
  for p in "${SMDPP_TEST_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -n "$p" ] && [ -x "$p" ] && { echo "$p"; return; }
  done
  command -v chromium 2>/dev/null || true
}

if [ -z "$(chromium_path)" ]; then
  if [ "$(id -u)" != 0 ]; then log "Chromium is missing and not root: install chromium"; exit 1; fi
  log "installing chromium"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
fi
BIN=$(chromium_path)
if [ -z "$BIN" ]; then log "chromium not found after installing it"; exit 1; fi
log "using $("$BIN" --version 2>/dev/null || echo "$BIN")"

echo "export SMDPP_TEST_CHROMIUM='$BIN'"
