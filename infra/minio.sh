#!/usr/bin/env bash
# A local MinIO server (real S3 API on loopback) for the S3 store's tests and for trying the S3
# store by hand. Idempotent and fast when already installed / running.
#
#   bash infra/minio.sh install   # build MinIO (infra/versions.sh) with Go into the per-user
#                                 # cache ~/.cache/dalesweep/minio/<version> (once; minutes)
#   bash infra/minio.sh start     # start on 127.0.0.1:$DALESWEEP_MINIO_PORT (default 9100),
#                                 # console on 127.0.0.1:$DALESWEEP_MINIO_CONSOLE_PORT (9101)
#   bash infra/minio.sh stop
#   bash infra/minio.sh status
#   eval "$(bash infra/minio.sh env)"   # AWS_* credentials, AWS_ENDPOINT_URL_S3 and the
#                                       # DALESWEEP_TEST_S3_* variables the tests read
#
# Environment: DALESWEEP_MINIO_PORT (9100), DALESWEEP_MINIO_CONSOLE_PORT (9101),
# MINIO_ROOT_USER (dalesweep), MINIO_ROOT_PASSWORD (dalesweep-secret): fixed test credentials
# for a server that only listens on loopback. Data: .tools/minio-data (kept across restarts).
# Then e.g. `dalesweep run sweeps/quick.yaml --store 's3://dalesweep/runs?createBucket=true'`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TOOLS="$ROOT/.tools"
# shellcheck source=infra/versions.sh
source "$ROOT/infra/versions.sh"
BIN_DIR="$DALESWEEP_CACHE/minio/$MINIO_VERSION"
BIN="$BIN_DIR/minio"
PORT="${DALESWEEP_MINIO_PORT:-9100}"
CONSOLE_PORT="${DALESWEEP_MINIO_CONSOLE_PORT:-9101}"
USER_="${MINIO_ROOT_USER:-dalesweep}"
PASS_="${MINIO_ROOT_PASSWORD:-dalesweep-secret}"
DATA="$TOOLS/minio-data"
PIDFILE="$TOOLS/minio.pid"
LOG="$TOOLS/minio.log"
# shellcheck source=infra/daemon.sh
source "$ROOT/infra/daemon.sh"

mkdir -p "$TOOLS"

install() {
  if [ -x "$BIN" ]; then return 0; fi
  go_build_into "$BIN_DIR" "github.com/minio/minio@$MINIO_VERSION" minio || { echo "minio: could not build MinIO $MINIO_VERSION" >&2; exit 1; }
  [ -x "$BIN" ] || { echo "minio: build finished but $BIN is missing" >&2; exit 1; }
}

healthy() {
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/minio/health/live" 2>/dev/null
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

start() {
  if running && healthy; then
    echo "minio: running on http://127.0.0.1:$PORT" >&2
    return 0
  fi
  if ! running && port_open; then
    echo "minio: 127.0.0.1:$PORT is already in use by another process; set DALESWEEP_MINIO_PORT" >&2
    exit 1
  fi
  install
  mkdir -p "$DATA"
  MINIO_ROOT_USER="$USER_" MINIO_ROOT_PASSWORD="$PASS_" MINIO_BROWSER_REDIRECT=off \
    nohup "$BIN" server "$DATA" --address "127.0.0.1:$PORT" --console-address "127.0.0.1:$CONSOLE_PORT" --quiet >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  wait_ready minio "ready on http://127.0.0.1:$PORT (console http://127.0.0.1:$CONSOLE_PORT, log $LOG)"
}

status() {
  status_of minio "http://127.0.0.1:$PORT"
}

env_lines() {
  cat <<EOF
export AWS_ACCESS_KEY_ID=$USER_
export AWS_SECRET_ACCESS_KEY=$PASS_
export AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$PORT
export DALESWEEP_TEST_S3_ENDPOINT=http://127.0.0.1:$PORT
export DALESWEEP_TEST_S3_BUCKET=dalesweep-test
export DALESWEEP_TEST_S3_ACCESS_KEY=$USER_
export DALESWEEP_TEST_S3_SECRET_KEY=$PASS_
EOF
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) env_lines ;;
  *) echo "usage: $0 install|start|stop|status|env" >&2; exit 2 ;;
esac
