#!/usr/bin/env bash
# The speckit profile end to end with the real specify-cli (PyPI, in .venv) and a
# scripted stand-in for the agent CLI. Skipped, saying so, only when specify-cli
# cannot be installed here.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
if ! [ -x .venv/bin/specify ] && ! .venv/bin/pip install -q "specify-cli>=1.2,<2"; then
  echo "SKIPPED: the speckit end-to-end test: specify-cli could not be installed from PyPI"
  exit 0
fi
swift build
python3 Tests/Agents/speckit_test.py .build/debug/lph .venv/bin/specify
