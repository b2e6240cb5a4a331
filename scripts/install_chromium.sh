#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the report screenshot (crm_ml.reports.screenshot).
# Idempotent: does nothing when /usr/bin/chromium already exists. Needs root (or sudo) and apt-get.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

# one install at a time: parallel test workers may all find Chromium missing at once, and
# apt-get refuses a second run while the first holds the dpkg lock
if command -v flock >/dev/null 2>&1; then
    exec 9>"${TMPDIR:-/tmp}/crm-ml-install-chromium.lock"
    flock 9
fi

if [[ -x "$CHROMIUM" ]]; then
    echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-get not found: install Chromium with your system's package manager" >&2
    exit 1
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "installing chromium needs root: run this script as root or install sudo" >&2
        exit 1
    fi
fi

echo "chromium missing: running apt-get update"
$SUDO apt-get update -qq
echo "installing the Debian package 'chromium' (no recommended packages)"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium

if [[ ! -x "$CHROMIUM" ]]; then
    echo "apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
