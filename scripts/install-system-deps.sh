#!/usr/bin/env bash
# Installs what the tests need from Debian when it is missing: Chromium and ChromeDriver for the
# browser tests, a CJK font (so screenshots show Chinese city names), and docker-compose to
# validate docker-compose.yml (the Docker engine itself is not needed).
# Needs root (CI and the dev machines run as root); otherwise says what to install.
set -euo pipefail
if [ -x /usr/bin/chromium ] && command -v docker-compose >/dev/null 2>&1 \
   && fc-list 2>/dev/null | grep -qi 'wenquanyi\|noto sans cjk'; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: chromium or docker-compose is missing; the browser / compose tests will be skipped." >&2
  echo "      install: sudo apt-get install chromium chromium-driver fonts-wqy-zenhei docker-compose" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium chromium-driver fonts-wqy-zenhei docker-compose >/dev/null
