#!/usr/bin/env bash
# An S3-compatible object store on loopback for kice's integration tests: moto in server
# mode (https://docs.getmoto.org/en/latest/docs/server_mode.html), installed from PyPI into
# its own virtualenv. Objects live in the server's memory: a restart empties every bucket.
#
# Usage: test/infra/s3.sh start|stop|status
#   start   make the virtualenv once, start the server in the background and wait until
#           it answers a real S3 request (ListBuckets); idempotent. The last line on stdout
#           is the endpoint URL, e.g. http://127.0.0.1:19400.
#   stop    SIGTERM, wait, then SIGKILL; idempotent.
#   status  prints "running <endpoint> (pid N)" and exits 0, or "stopped" and exits 3.
#
# Environment:
#   KICE_STATE        state root (default <repo>/.state); pid, port and log under $KICE_STATE/s3
#   KICE_S3_STATE     the server's own state folder instead (default $KICE_STATE/s3)
#   KICE_S3_PORT      port on 127.0.0.1 (default 19400)
#   KICE_S3_TIMEOUT   seconds to wait for readiness (default 60)
#   XDG_CACHE_HOME    the virtualenv goes to ${XDG_CACHE_HOME:-~/.cache}/kice/moto-<hash>
# Any access key / secret key is accepted; tests use "test"/"test", region us-east-1.
set -euo pipefail
# shellcheck source=lib/service.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/service.sh"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
req="$here/s3/requirements.txt"
reqhash="$(sha256sum "$req" | cut -c1-16)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/kice/moto-$reqhash"
state="${KICE_S3_STATE:-${KICE_STATE:-$root/.state}/s3}"
port="${KICE_S3_PORT:-19400}"
endpoint="http://127.0.0.1:$port"
pidfile="$state/s3.pid"
log="$state/server.log"

# Prints the pid of the server this state dir started, if it is still running.
server_pid() { running_pid "$pidfile" "moto_server -H 127.0.0.1"; }

# Makes the virtualenv once per requirements content.
ensure_venv() {
  mkdir -p "$(dirname "$venv")"
  exec 8>"$venv.lock"
  flock 8
  # The stamp is written last, so an interrupted install is redone.
  if [ ! -f "$venv/.complete" ]; then
    say "installing $(grep -v '^#' "$req" | tr '\n' ' ')into $venv (pip)"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2; then
      say "pip install failed"
      exit 1
    fi
    touch "$venv/.complete"
  fi
  flock -u 8
}

# A ListBuckets request answered with its XML result (not just an open port).
answers() {
  curl -sf -m 2 -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0' \
    "$endpoint/" 2>/dev/null | grep -q ListAllMyBucketsResult
}

wait_ready() { wait_for "$1" "$2" 0.1 answers; }

fail_with_log() {
  say "$1; last lines of $log:"
  tail -n 40 "$log" >&2 2>/dev/null || true
  stop_server >/dev/null 2>&1 || true
  exit 1
}

start_server() {
  local pid
  if pid="$(server_pid)"; then
    if [ "$(cat "$state/port" 2>/dev/null)" != "$port" ]; then
      say "the server of $state (pid $pid) runs on port $(cat "$state/port"), not $port: stop it first"
      exit 1
    fi
    wait_ready "${KICE_S3_TIMEOUT:-60}" "$pid" || fail_with_log "running server (pid $pid) is not answering"
    echo "$endpoint"
    return 0
  fi
  if port_open "$port"; then
    say "127.0.0.1:$port is already in use by another process (set KICE_S3_PORT)"
    exit 1
  fi
  ensure_venv
  echo "$port" >"$state/port"
  say "starting moto S3 on $endpoint (state $state)"
  setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >>"$log" 2>&1 </dev/null 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$pidfile"
  wait_ready "${KICE_S3_TIMEOUT:-60}" "$pid" || fail_with_log "server did not become ready"
  echo "$endpoint"
}

stop_server() {
  local pid
  if pid="$(server_pid)"; then
    stop_pid "$pid" 20 || true
  fi
  rm -f "$pidfile"
  echo "stopped"
}

cmd="${1:-}"
case "$cmd" in
start | stop)
  mkdir -p "$state"
  exec 9>"$state/.lock"
  flock 9
  if [ "$cmd" = start ]; then start_server; else stop_server; fi
  ;;
status)
  if pid="$(server_pid)"; then
    echo "running http://127.0.0.1:$(cat "$state/port") (pid $pid)"
  else
    echo "stopped"
    exit 3
  fi
  ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
