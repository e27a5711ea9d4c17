#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver (and a CJK font, so screenshots show Chinese city
# names) for the browser tests when they are missing.
# Needs root (CI and the dev machines run as root); otherwise says what to install.
set -euo pipefail
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi 'wenquanyi\|noto sans cjk'; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: /usr/bin/chromium is missing; browser tests will be skipped." >&2
  echo "      install it with: sudo apt-get install chromium chromium-driver" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium chromium-driver fonts-wqy-zenhei >/dev/null
