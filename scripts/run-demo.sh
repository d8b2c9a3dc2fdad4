#!/usr/bin/env bash
# Set up (if needed) and run auxduty with demo data on http://127.0.0.1:8000 (SQLite under ./var).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export AUXDUTY_DATA_DIR="${AUXDUTY_DATA_DIR:-./var}"
.venv/bin/auxduty migrate
.venv/bin/auxduty demo
exec .venv/bin/auxduty serve "$@"
