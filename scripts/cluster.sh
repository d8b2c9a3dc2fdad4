#!/usr/bin/env bash
# Two auxduty hosts behind nginx on this one machine: the smallest real topology of "One service on many hosts"
# (API.md), for trying it by hand and for tests/cluster/test_topology.py.
#
#   scripts/cluster.sh start    start whatever is not running, wait until /readyz answers 200 on each host,
#                               print the proxy URL and both host URLs
#   scripts/cluster.sh stop     stop nginx and both hosts (the state dir, its logs and the database stay)
#   scripts/cluster.sh status   what runs where, and whether it is ready
#
#   proxy    nginx on 127.0.0.1:$AUXDUTY_CLUSTER_PROXY_PORT (8400), round-robin to both hosts, connecting to
#            them from $AUXDUTY_CLUSTER_PROXY_BIND (127.0.0.2), the one address the hosts trust
#   host a   auxduty serve on 127.0.0.1:$AUXDUTY_CLUSTER_PORT_A (8401), data dir $STATE/a/data
#   host b   auxduty serve on 127.0.0.1:$AUXDUTY_CLUSTER_PORT_B (8402), data dir $STATE/b/data
#   shared   the PostgreSQL database $AUXDUTY_CLUSTER_DATABASE_URL (made if missing), Redis
#            $AUXDUTY_CLUSTER_REDIS_URL, the bucket of $AUXDUTY_CLUSTER_STORAGE_URL on the S3 store
#            $AUXDUTY_CLUSTER_S3_ENDPOINT_URL (made if missing; the SeaweedFS of scripts/seaweedfs.sh by default,
#            started if it is not running), and a secret made once in $STATE/secret
#   state    $AUXDUTY_CLUSTER_DIR (/tmp/auxduty-cluster): per host env (source it to run `auxduty` as that
#            host), serve.log and pid; nginx/ with its config, logs and pid
#
# Any other AUXDUTY_* variable set when starting is given to both hosts (AUXDUTY_SECRET_KEY, the Argon2 cost,
# AUXDUTY_PUBLIC_BASE_URL: by default the proxy's URL). nginx is installed when missing, as scripts/setup.sh
# installs system packages. Both hosts are started at the same moment: on an empty database one migrates,
# under the migration lock, and the other finds the schema at head.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

STATE="${AUXDUTY_CLUSTER_DIR:-/tmp/auxduty-cluster}"
PROXY_PORT="${AUXDUTY_CLUSTER_PROXY_PORT:-8400}"
PORT_A="${AUXDUTY_CLUSTER_PORT_A:-8401}"
PORT_B="${AUXDUTY_CLUSTER_PORT_B:-8402}"
PROXY_BIND="${AUXDUTY_CLUSTER_PROXY_BIND:-127.0.0.2}"
DATABASE_URL="${AUXDUTY_CLUSTER_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/auxduty_cluster}"
REDIS_URL="${AUXDUTY_CLUSTER_REDIS_URL:-redis://127.0.0.1:6379/0}"
STORAGE_URL="${AUXDUTY_CLUSTER_STORAGE_URL:-s3://auxduty-cluster/evidence}"
S3_ENDPOINT="${AUXDUTY_CLUSTER_S3_ENDPOINT_URL:-http://127.0.0.1:8533}"
S3_KEY="${AUXDUTY_CLUSTER_S3_ACCESS_KEY_ID:-auxduty-test}"
S3_SECRET="${AUXDUTY_CLUSTER_S3_SECRET_ACCESS_KEY:-auxduty-test-secret}"
WAIT_SECONDS="${AUXDUTY_CLUSTER_WAIT_SECONDS:-90}"
PY="${AUXDUTY_CLUSTER_PYTHON:-$ROOT/.venv/bin/python}"
TEMPLATE="$ROOT/deploy/nginx/auxduty.conf.template"
NGINX_DIR="$STATE/nginx"

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The pid in FILE when that process is still the one started (its command line holds PATTERN).
running() {
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "$2" && printf '%s' "$pid"
}

# Whether process PID still runs (a child of this script that exited lingers as a zombie until reaped).
alive() {
  local state
  state="$(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null)"
  [ -n "$state" ] && [ "$state" != Z ]
}

# Whether something already listens on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

nginx_bin() { command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; }; }

ensure_nginx() {
  [ -n "$(nginx_bin)" ] && return
  say "nginx is missing: installing it (scripts/setup.sh with AUXDUTY_SETUP_CLUSTER=1)"
  AUXDUTY_SETUP_CLUSTER=1 bash "$ROOT/scripts/setup.sh"
  [ -n "$(nginx_bin)" ] || die "nginx is still missing: sudo apt-get install nginx"
}

# Make the database and the bucket when they are missing; check that Redis answers. Exit 2: no S3 store.
prepare() { "$PY" - "$DATABASE_URL" "$REDIS_URL" "$STORAGE_URL" "$S3_ENDPOINT" "$S3_KEY" "$S3_SECRET" <<'PY'
import sys
from urllib.parse import urlsplit

import boto3
import psycopg
import redis
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.engine import make_url

database_url, redis_url, storage_url, endpoint, key, secret = sys.argv[1:]
url = make_url(database_url)
if url.get_backend_name() != "postgresql":
    sys.exit(f"error: hosts can share only a PostgreSQL database, not {url.get_backend_name()}")
admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
try:
    with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{url.database}"')
            print(f"created database {url.database}")
except psycopg.Error as exc:
    sys.exit(f"error: PostgreSQL at {url.host}:{url.port} does not answer (scripts/services.sh starts it): {exc}")
try:
    redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
except redis.RedisError as exc:
    sys.exit(f"error: Redis at {redis_url} does not answer (scripts/services.sh starts it): {exc}")
bucket = urlsplit(storage_url).netloc
s3 = boto3.session.Session().client(
    "s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1",
    config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
try:
    s3.head_bucket(Bucket=bucket)
except ClientError as exc:
    if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
        sys.exit(f"error: the S3 store at {endpoint} refused: {exc}")
    s3.create_bucket(Bucket=bucket)
    print(f"created bucket {bucket}")
except BotoCoreError as exc:
    print(f"no S3 store at {endpoint}: {exc}", file=sys.stderr)
    sys.exit(2)
PY
}

secret() {
  if [ -n "${AUXDUTY_SECRET_KEY:-}" ]; then printf '%s' "$AUXDUTY_SECRET_KEY"; return; fi
  if [ ! -s "$STATE/secret" ]; then
    (umask 077; "$PY" -c 'import secrets; print(secrets.token_urlsafe(48))' >"$STATE/secret")
  fi
  cat "$STATE/secret"
}

# The environment of host NAME: the caller's other AUXDUTY_* settings, then what makes it a host of this cluster.
write_env() {
  local dir="$STATE/$1" var secret_key
  secret_key="$(secret)"
  mkdir -p "$dir/data"
  {
    for var in $(compgen -e); do
      case "$var" in
        AUXDUTY_CLUSTER_* | AUXDUTY_DATA_DIR | AUXDUTY_DATABASE_URL | AUXDUTY_REDIS_URL | AUXDUTY_STORAGE_URL | \
          AUXDUTY_S3_ENDPOINT_URL | AUXDUTY_S3_ACCESS_KEY_ID | AUXDUTY_S3_SECRET_ACCESS_KEY | AUXDUTY_SECRET_KEY | \
          AUXDUTY_TRUSTED_PROXIES | AUXDUTY_PUBLIC_BASE_URL | AUXDUTY_LOG_FORMAT) ;;
        AUXDUTY_*) printf 'export %s=%q\n' "$var" "${!var}" ;;
      esac
    done
    printf 'export %s=%q\n' \
      AUXDUTY_DATA_DIR "$dir/data" \
      AUXDUTY_DATABASE_URL "$DATABASE_URL" \
      AUXDUTY_REDIS_URL "$REDIS_URL" \
      AUXDUTY_STORAGE_URL "$STORAGE_URL" \
      AUXDUTY_S3_ENDPOINT_URL "$S3_ENDPOINT" \
      AUXDUTY_S3_ACCESS_KEY_ID "$S3_KEY" \
      AUXDUTY_S3_SECRET_ACCESS_KEY "$S3_SECRET" \
      AUXDUTY_SECRET_KEY "$secret_key" \
      AUXDUTY_TRUSTED_PROXIES "$PROXY_BIND" \
      AUXDUTY_PUBLIC_BASE_URL "${AUXDUTY_PUBLIC_BASE_URL:-http://127.0.0.1:$PROXY_PORT}" \
      AUXDUTY_LOG_FORMAT "${AUXDUTY_LOG_FORMAT:-json}"
  } >"$dir/env.new"
  chmod 600 "$dir/env.new"
  mv "$dir/env.new" "$dir/env"
}

start_host() {
  local name="$1" port="$2" dir="$STATE/$1" pid
  if pid="$(running "$dir/pid" "api.cli serve")"; then
    say "host $name: already running (pid $pid)"
    return
  fi
  write_env "$name"
  # A clean environment but for the host's own: a stray AUXDUTY_* of the caller's shell cannot differ between
  # the hosts, and the host's current directory (a .env there is read) is its own.
  (
    cd "$dir"
    for var in $(compgen -e); do case "$var" in AUXDUTY_*) unset "$var" ;; esac; done
    set -a
    # shellcheck disable=SC1091
    . "$dir/env"
    set +a
    exec setsid "$PY" -m api.cli serve --host 127.0.0.1 --port "$port" >"$dir/serve.log" 2>&1 </dev/null
  ) &
  echo $! >"$dir/pid"
}

start_nginx() {
  local pid bin
  if pid="$(running "$NGINX_DIR/nginx.pid" "$NGINX_DIR/nginx.conf")"; then
    say "proxy: already running (pid $pid)"
    return
  fi
  bin="$(nginx_bin)"
  mkdir -p "$NGINX_DIR/tmp"
  # Only the placeholders named here are filled: nginx's own $variables stay as they are.
  "$PY" - "$TEMPLATE" "NGINX_USER=$(id -un) $(id -gn)" "NGINX_DIR=$NGINX_DIR" "HOST_A=127.0.0.1:$PORT_A" \
    "HOST_B=127.0.0.1:$PORT_B" "PROXY_LISTEN=127.0.0.1:$PROXY_PORT" "PROXY_BIND=$PROXY_BIND" \
    >"$NGINX_DIR/nginx.conf" <<'PY'
import re
import string
import sys

values = dict(arg.split("=", 1) for arg in sys.argv[2:])
text = string.Template(open(sys.argv[1], encoding="utf-8").read()).safe_substitute(values)
if left := re.findall(r"\$\{\w+\}", text):
    sys.exit(f"error: {sys.argv[1]} names {', '.join(left)}, which nobody filled")
sys.stdout.write(text)
PY
  "$bin" -t -q -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log" \
    || die "nginx refuses $NGINX_DIR/nginx.conf (see $NGINX_DIR/error.log)"
  setsid "$bin" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log" \
    >>"$NGINX_DIR/error.log" 2>&1 </dev/null &
  echo $! >"$NGINX_DIR/nginx.pid"
}

# Wait until /readyz answers 200 at each NAME=URL,PIDFILE,LOG; a process that dies is reported at once.
wait_ready() { "$PY" - "$WAIT_SECONDS" "$@" <<'PY'
import os
import sys
import time
import urllib.error
import urllib.request

deadline = time.monotonic() + float(sys.argv[1])
waiting = dict(arg.split("=", 1) for arg in sys.argv[2:])
while waiting:
    for name, spec in list(waiting.items()):
        base, pidfile, log = spec.split(",")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    del waiting[name]
                    continue
        except (OSError, urllib.error.URLError):
            pass
        pid = int(open(pidfile).read())
        if not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z":
            tail = open(log, errors="replace").read()[-4000:]
            sys.exit(f"error: {name} stopped before it was ready; the end of {log}:\n{tail}")
    if time.monotonic() > deadline:
        sys.exit(f"error: not ready within {sys.argv[1]} s: {', '.join(waiting)} (see the logs in the state dir)")
    time.sleep(0.1)
PY
}

# Die when PORT is taken by anything but NAME itself (running per PIDFILE and PATTERN).
free_port_for() {
  running "$3" "$4" >/dev/null && return
  ! listening "$2" || die "$1: 127.0.0.1:$2 is taken by another process (set $5)"
}

start() {
  ensure_nginx
  [ -x "$PY" ] || die "no Python at $PY: run scripts/setup.sh first"
  mkdir -p "$STATE"
  local rc=0
  prepare || rc=$?
  if [ "$rc" -eq 2 ] && [ "$S3_ENDPOINT" = "http://127.0.0.1:${AUXDUTY_SEAWEEDFS_S3_PORT:-8533}" ]; then
    bash "$ROOT/scripts/seaweedfs.sh"
    rc=0; prepare || rc=$?
  fi
  [ "$rc" -eq 0 ] || die "the shared services are not all there (see above)"
  [ "$PORT_A" != "$PORT_B" ] && [ "$PROXY_PORT" != "$PORT_A" ] && [ "$PROXY_PORT" != "$PORT_B" ] \
    || die "the proxy and the two hosts need three different ports"
  # A port another process holds would be answered by that process: refuse before starting anything.
  free_port_for "host a" "$PORT_A" "$STATE/a/pid" "api.cli serve" AUXDUTY_CLUSTER_PORT_A
  free_port_for "host b" "$PORT_B" "$STATE/b/pid" "api.cli serve" AUXDUTY_CLUSTER_PORT_B
  free_port_for proxy "$PROXY_PORT" "$NGINX_DIR/nginx.pid" "$NGINX_DIR/nginx.conf" AUXDUTY_CLUSTER_PROXY_PORT
  start_host a "$PORT_A"
  start_host b "$PORT_B"  # at the same moment as host a, on purpose
  # The proxy only once both hosts are ready: nginx takes a host that refused a connection out of the
  # round for fail_timeout (10 s), which would leave the proxy waiting for nothing.
  wait_ready "host a=http://127.0.0.1:$PORT_A,$STATE/a/pid,$STATE/a/serve.log" \
    "host b=http://127.0.0.1:$PORT_B,$STATE/b/pid,$STATE/b/serve.log" || { stop >/dev/null; exit 1; }
  start_nginx
  wait_ready "proxy=http://127.0.0.1:$PROXY_PORT,$NGINX_DIR/nginx.pid,$NGINX_DIR/error.log" \
    || { stop >/dev/null; exit 1; }
  say "proxy:  http://127.0.0.1:$PROXY_PORT"
  say "host a: http://127.0.0.1:$PORT_A"
  say "host b: http://127.0.0.1:$PORT_B"
}

# Stop what each NAME|PIDFILE|PATTERN names: all asked at once, each given 15 s before it is killed.
stop_all() {
  local spec name pidfile pattern pid
  local -a stopping=()
  for spec in "$@"; do
    IFS='|' read -r name pidfile pattern <<<"$spec"
    if pid="$(running "$pidfile" "$pattern")"; then
      kill -TERM "$pid" 2>/dev/null || true
      stopping+=("$name|$pid")
    else
      say "$name: not running"
    fi
    rm -f "$pidfile"
  done
  for spec in ${stopping[@]+"${stopping[@]}"}; do
    IFS='|' read -r name pid <<<"$spec"
    for _ in $(seq 1 150); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    say "$name: stopped (pid $pid)"
  done
}

stop() {
  stop_all "proxy|$NGINX_DIR/nginx.pid|$NGINX_DIR/nginx.conf" "host a|$STATE/a/pid|api.cli serve" \
    "host b|$STATE/b/pid|api.cli serve"
}

readyz() { "$PY" - "$1" <<'PY'
import sys
import urllib.error
import urllib.request

try:
    with urllib.request.urlopen(f"{sys.argv[1]}/readyz", timeout=3) as answer:
        print(answer.status)
except urllib.error.HTTPError as exc:
    print(exc.code)
except OSError:
    print("no answer")
PY
}

status() {
  local rc=0 name url pidfile pattern pid code
  for spec in "proxy|$PROXY_PORT|$NGINX_DIR/nginx.pid|$NGINX_DIR/nginx.conf" \
              "host a|$PORT_A|$STATE/a/pid|api.cli serve" "host b|$PORT_B|$STATE/b/pid|api.cli serve"; do
    IFS='|' read -r name url pidfile pattern <<<"$spec"
    url="http://127.0.0.1:$url"
    if pid="$(running "$pidfile" "$pattern")"; then
      code="$(readyz "$url")"
      say "$name: $url  pid $pid, /readyz $code"
      [ "$code" = 200 ] || rc=1
    else
      say "$name: $url  not running"
      rc=1
    fi
  done
  say "state:  $STATE"
  return "$rc"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status  (state in \$AUXDUTY_CLUSTER_DIR, default /tmp/auxduty-cluster)" ;;
esac
