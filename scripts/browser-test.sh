#!/usr/bin/env bash
# The dashboard in a real headless Chromium (Debian's chromium and chromium-driver,
# installed by install-deps.sh), driven by Selenium from a virtual environment
# made here, then cross-site requests from an attacker page on another port.
# Usage: scripts/browser-test.sh [SCREENSHOT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c "import selenium" 2>/dev/null || .venv/bin/pip install -q "selenium>=4.20,<5"
swift build
.venv/bin/python Tests/Browser/dashboard_test.py .build/debug/lph "$@"
.venv/bin/python Tests/Browser/csrf_test.py .build/debug/lph
