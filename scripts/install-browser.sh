#!/usr/bin/env bash
# Headless Chromium for the explorer's browser tests and benchmark (Python Playwright drives it).
# Idempotent: returns at once when /usr/bin/chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser.sh: /usr/bin/chromium is missing and apt-get is not available; install Chromium" \
    "so that /usr/bin/chromium exists (the explorer's browser tests need it)" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-browser.sh: installing chromium needs root (or sudo)" >&2
    exit 1
  fi
fi
echo "install-browser.sh: installing Debian's chromium (headless browser for the explorer tests)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
test -x /usr/bin/chromium || { echo "install-browser.sh: chromium installed but /usr/bin/chromium is missing" >&2; exit 1; }
