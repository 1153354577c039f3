# Process management shared by infra/minio.sh and infra/temporal.sh (sourced, not run): one
# background server whose pid is in $PIDFILE and log in $LOG; the caller defines healthy().

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

# wait_ready NAME MESSAGE: waits up to 60 s for healthy(); exits 1 with the log's tail otherwise.
wait_ready() {
  for _ in $(seq 1 300); do
    if healthy; then echo "$1: $2" >&2; return 0; fi
    if ! running; then echo "$1: server exited; see $LOG:" >&2; tail -20 "$LOG" >&2; exit 1; fi
    sleep 0.2
  done
  echo "$1: not ready after 60 s; see $LOG" >&2
  exit 1
}

stop() {
  if running; then
    local pid
    pid=$(cat "$PIDFILE")
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$PIDFILE"
}

# status_of NAME WHERE
status_of() {
  if running && healthy; then
    echo "$1: running (pid $(cat "$PIDFILE")) on $2"
  else
    echo "$1: not running"
    return 1
  fi
}
