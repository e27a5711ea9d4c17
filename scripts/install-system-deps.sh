#!/usr/bin/env bash
# Installs what the tests need from Debian when it is missing: Chromium and ChromeDriver for the
# browser tests, a CJK font (so screenshots show Chinese city names), and docker-compose to
# validate docker-compose.yml (the Docker engine itself is not needed); Pango for WeasyPrint (the
# monthly report's PDF) and poppler-utils (pdftoppm/pdftotext: the PDF tests read it back).
# Needs root (CI and the dev machines run as root); otherwise says what to install.
set -euo pipefail
if [ -x /usr/bin/chromium ] && command -v docker-compose >/dev/null 2>&1 \
   && fc-list 2>/dev/null | grep -qi 'wenquanyi\|noto sans cjk' \
   && command -v pdftoppm >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q libpangoft2; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: chromium or docker-compose is missing; the browser / compose tests will be skipped." >&2
  echo "      install: sudo apt-get install chromium chromium-driver fonts-wqy-zenhei docker-compose poppler-utils libpango-1.0-0 libpangoft2-1.0-0" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium chromium-driver fonts-wqy-zenhei docker-compose poppler-utils \
  libpango-1.0-0 libpangoft2-1.0-0 >/dev/null
