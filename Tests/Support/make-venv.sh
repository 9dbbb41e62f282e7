#!/usr/bin/env bash
# The Python tools the tests drive, in .venv (PyPI): Selenium for the browser
# tests, schemathesis for the API fuzzing, specify-cli for the speckit profile's
# end-to-end test (which says SKIPPED, and passes, only if it cannot be installed;
# CI sets LPH_NO_SKIPS=1, which fails it instead). schemathesis is pinned: the fuzz
# test reads its report.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c "import selenium" 2>/dev/null || .venv/bin/pip install -q "selenium>=4.20,<5"
.venv/bin/python -c "import schemathesis" 2>/dev/null || .venv/bin/pip install -q "schemathesis==4.32.5"
[ -x .venv/bin/specify ] || .venv/bin/pip install -q "specify-cli>=1.2,<2" || echo "specify-cli could not be installed: the speckit test will be skipped"
