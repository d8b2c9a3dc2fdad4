#!/usr/bin/env bash
# Set up (if needed) and run the whole suite on SQLite and PostgreSQL, in parallel, with real Chromium and,
# for tests/cluster, a real nginx in front of two hosts.
set -euo pipefail
cd "$(dirname "$0")/.."
AUXDUTY_SETUP_BROWSER=1 AUXDUTY_SETUP_CLUSTER=1 bash scripts/setup.sh
bash scripts/services.sh
echo "==> ruff and mypy --strict"
.venv/bin/ruff check .
.venv/bin/mypy api verification schemas tests
workers="${AUXDUTY_TEST_WORKERS:-$(nproc 2>/dev/null || echo 2)}"
exec .venv/bin/python -m pytest -n "$workers" --dist loadgroup "$@"
