#!/usr/bin/env bash
# Make sure the local PostgreSQL (127.0.0.1:5432, user postgres, trust auth) and Redis (127.0.0.1:6379) answer;
# start them when they are installed but stopped. Prints what it finds; never fails by itself.
set -uo pipefail
pg_up() { .venv/bin/python - <<'PY' 2>/dev/null
import psycopg
psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=2").close()
PY
}
if ! pg_up && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  echo "starting PostgreSQL"
  for v in $(ls /etc/postgresql); do pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true; done
  for _ in $(seq 1 20); do pg_up && break; sleep 0.5; done
fi
pg_up && echo "PostgreSQL: up at 127.0.0.1:5432" || echo "PostgreSQL: not reachable at 127.0.0.1:5432 (its tests will skip; under CI=true they fail)"
if command -v redis-cli >/dev/null && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && command -v redis-server >/dev/null; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null 2>&1 || true
  sleep 0.5
fi
if command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then echo "Redis: up at 127.0.0.1:6379"; else echo "Redis: not reachable (the in-process rate limiter is used)"; fi
bash "$(dirname "$0")/seaweedfs.sh"  # S3-compatible store of tests/storage/, on 127.0.0.1:8533
exit 0
