#!/usr/bin/env bash
# Apache Spark with the Iceberg Spark runtime (the Java reference implementation) as a
# reader and writer for kice's tests: test/support/spark_server.py, one local[1] Spark
# session behind a loopback HTTP server. Spark comes from the pyspark package in the
# project venv (test/infra/requirements.txt); the Iceberg runtime jar from Maven.
#
# Usage: test/infra/spark.sh start|stop|status|jar
#   start   fetch the jar once, start the server in the background and wait until it
#           answers GET /ready (a query run through Spark); idempotent. The last line on
#           stdout is the address, e.g. 127.0.0.1:40123.
#   stop    SIGTERM, wait, then SIGKILL; idempotent.
#   status  prints "running <address> (pid N)" and exits 0, or "stopped" and exits 3.
#   jar     fetches the runtime jar (once) and prints its path.
#
# Environment:
#   KICE_SPARK_STATE    state folder (default <repo>/.state/spark: one server per checkout,
#                       since it runs that checkout's spark_server.py, even where several
#                       checkouts share one KICE_STATE for Kafka): pid, port, server.log
#   KICE_SPARK_PORT     port on 127.0.0.1 (default 0: a free one, written to <state>/port)
#   KICE_SPARK_MEMORY   driver heap (default 1g)
#   KICE_SPARK_IDLE_S   the server stops itself after this many idle seconds (default 1800)
#   KICE_SPARK_TIMEOUT  seconds to wait for readiness (default 180)
#   KICE_PYTHON         the venv python (default: what test/infra/python-env.sh prints)
#   XDG_CACHE_HOME      the jar goes to ${XDG_CACHE_HOME:-~/.cache}/kice/iceberg-spark-<v>/
set -euo pipefail
# shellcheck source=lib/service.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/service.sh"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
iceberg_version=1.10.1
artifact="org.apache.iceberg:iceberg-spark-runtime-4.0_2.13:$iceberg_version"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kice/iceberg-spark-$iceberg_version"
jar="$cache/iceberg-spark-runtime-4.0_2.13-$iceberg_version.jar"
state="${KICE_SPARK_STATE:-$root/.state/spark}"
[[ "$state" == /* ]] || state="$PWD/$state"
pidfile="$state/server.pid"
log="$state/server.log"
server="$root/test/support/spark_server.py"

# Prints the pid of the server this state folder started, if it is still running.
server_pid() { running_pid "$pidfile" "spark_server.py $state "; }

# Fetches the runtime jar into the cache once (the jar is self-contained: no transitive
# dependencies; Maven's own cache is ~/.m2 as usual).
ensure_jar() {
  [ -s "$jar" ] && return 0
  mkdir -p "$cache"
  exec 8>"$cache/.lock"
  flock 8
  if [ ! -s "$jar" ]; then
    say "fetching $artifact into $cache (Maven)"
    local tmp="$cache/tmp.$$"
    rm -rf "$tmp"
    if ! mvn -q -B dependency:copy -Dartifact="$artifact" -Dtransitive=false \
      -DoutputDirectory="$tmp" >&2; then
      rm -rf "$tmp"
      say "mvn dependency:copy $artifact failed"
      exit 1
    fi
    mv "$tmp/$(basename "$jar")" "$jar"
    rm -rf "$tmp"
  fi
  flock -u 8
}

python_path() {
  if [ -n "${KICE_PYTHON:-}" ]; then
    echo "$KICE_PYTHON"
  else
    bash "$here/python-env.sh" | tail -n 1
  fi
}

# True (and sets addr) when the port file exists and GET /ready answers "ok"; the server
# writes the port file once Spark is up.
ready() {
  [ -f "$state/port" ] || return 1
  local port
  port="$(cat "$state/port")"
  "$py" -c 'import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=60).read() == b"ok\n" else 1)' \
    "http://127.0.0.1:$port/ready" 2>/dev/null || return 1
  addr="127.0.0.1:$port"
}

# GET /ready within $1 seconds while pid $2 lives.
wait_ready() { wait_for "$1" "$2" 0.5 ready; }

fail_with_log() {
  say "$1; last lines of $log:"
  tail -n 60 "$log" >&2 2>/dev/null || true
  stop_server >/dev/null 2>&1 || true
  exit 1
}

start_server() {
  mkdir -p "$state"
  exec 9>"$state/.lock"
  flock 9
  py="$(python_path)"
  local pid
  if pid="$(server_pid)"; then
    wait_ready "${KICE_SPARK_TIMEOUT:-180}" "$pid" || fail_with_log "running server (pid $pid) is not answering"
    echo "$addr"
    return 0
  fi
  ensure_jar
  rm -f "$state/port"
  say "starting Spark (pyspark, Iceberg $iceberg_version) (state $state)"
  # Run from the state folder, so that whatever Spark leaves in its working directory stays
  # there. setsid: the server outlives this script and ignores the caller's terminal signals;
  # the lock descriptors are closed so that the server does not hold the locks.
  cd "$state"
  setsid "$py" "$server" "$state" "$jar" >>"$log" 2>&1 </dev/null 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$pidfile"
  wait_ready "${KICE_SPARK_TIMEOUT:-180}" "$pid" || fail_with_log "server did not become ready"
  echo "$addr"
}

stop_server() {
  local pid
  # SIGTERM to the Python server (it stops Spark, and the JVM exits with it); SIGKILL, if
  # it comes to that, to its process group: the Python process and the Spark JVM.
  if pid="$(server_pid)"; then
    stop_pid "$pid" 30 group || true
  fi
  rm -f "$pidfile" "$state/port"
  echo "stopped"
}

cmd="${1:-}"
case "$cmd" in
start)
  start_server
  ;;
stop)
  mkdir -p "$state"
  exec 9>"$state/.lock"
  flock 9
  stop_server
  ;;
status)
  if pid="$(server_pid)" && [ -f "$state/port" ]; then
    echo "running 127.0.0.1:$(cat "$state/port") (pid $pid)"
  else
    echo "stopped"
    exit 3
  fi
  ;;
jar)
  ensure_jar
  echo "$jar"
  ;;
*)
  echo "usage: $0 start|stop|status|jar" >&2
  exit 2
  ;;
esac
