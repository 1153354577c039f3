#!/usr/bin/env bash
# The Temporal dev server the Temporal engine's tests and benchmarks use (a real server on
# loopback, never a mock). Idempotent and fast when already installed / running.
#
#   bash infra/temporal.sh install   # build the Temporal CLI (infra/versions.sh) with Go into the
#                                    # per-user cache ~/.cache/dalesweep/temporal/<version>, or fall
#                                    # back to Maven Central's io.temporal:temporal-test-server jar
#   bash infra/temporal.sh start     # start on 127.0.0.1:$DALESWEEP_TEMPORAL_PORT (default 7233)
#   bash infra/temporal.sh stop
#   bash infra/temporal.sh status
#   eval "$(bash infra/temporal.sh env)"   # DALESWEEP_TEMPORAL_ADDRESS=127.0.0.1:7233
#
# Environment: DALESWEEP_TEMPORAL_PORT (7233), DALESWEEP_TEMPORAL_UI_PORT (8233),
# DALESWEEP_TEMPORAL_DB (unset: in-memory state, lost on stop; a path: SQLite file kept across
# restarts). History limits are the server defaults: the sweep workflow continues-as-new on its
# own guard (see workflows/sweep.ts), so no dynamic config is needed to exercise it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TOOLS="$ROOT/.tools"
# shellcheck source=infra/versions.sh
source "$ROOT/infra/versions.sh"
BIN_DIR="$DALESWEEP_CACHE/temporal/$TEMPORAL_CLI_VERSION"
BIN="$BIN_DIR/temporal"
JAR_DIR="$DALESWEEP_CACHE/temporal-test-server/$TEMPORAL_TEST_SERVER_VERSION"
PORT="${DALESWEEP_TEMPORAL_PORT:-7233}"
UI_PORT="${DALESWEEP_TEMPORAL_UI_PORT:-8233}"
PIDFILE="$TOOLS/temporal.pid"
LOG="$TOOLS/temporal.log"
# shellcheck source=infra/daemon.sh
source "$ROOT/infra/daemon.sh"
mkdir -p "$TOOLS"

have_jar() { compgen -G "$JAR_DIR/*.jar" >/dev/null 2>&1; }

install() {
  if [ -x "$BIN" ]; then return 0; fi
  if have_jar; then return 0; fi
  if go_build_into "$BIN_DIR" "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" temporal && [ -x "$BIN" ]; then
    return 0
  fi
  echo "temporal: Go build failed; fetching io.temporal:temporal-test-server from Maven Central" >&2
  mkdir -p "$JAR_DIR"
  mvn -q dependency:copy-dependencies -f /dev/stdin -DoutputDirectory="$JAR_DIR" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dalesweep</groupId><artifactId>temporal-test-server-fetch</artifactId><version>0</version>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId>
      <version>$TEMPORAL_TEST_SERVER_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  have_jar || { echo "temporal: no server could be installed" >&2; exit 1; }
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

healthy() {
  if [ -x "$BIN" ]; then
    "$BIN" operator cluster health --address "127.0.0.1:$PORT" >/dev/null 2>&1
  else
    port_open
  fi
}

start() {
  if running && healthy; then return 0; fi
  if ! running && port_open; then
    echo "temporal: 127.0.0.1:$PORT is already in use by another process; set DALESWEEP_TEMPORAL_PORT" >&2
    exit 1
  fi
  install
  if [ -x "$BIN" ]; then
    args=(server start-dev --ip 127.0.0.1 --port "$PORT" --ui-port "$UI_PORT" --headless --log-level warn)
    if [ -n "${DALESWEEP_TEMPORAL_DB:-}" ]; then args+=(--db-filename "$DALESWEEP_TEMPORAL_DB"); fi
    nohup "$BIN" "${args[@]}" >"$LOG" 2>&1 &
  else
    nohup java -cp "$JAR_DIR/*" io.temporal.testserver.TestServer "$PORT" >"$LOG" 2>&1 &
  fi
  echo $! >"$PIDFILE"
  wait_ready temporal "ready on 127.0.0.1:$PORT (log $LOG)"
}

status() {
  status_of temporal "127.0.0.1:$PORT"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export DALESWEEP_TEMPORAL_ADDRESS=127.0.0.1:$PORT" ;;
  *) echo "usage: $0 install|start|stop|status|env" >&2; exit 2 ;;
esac
