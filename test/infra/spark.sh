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

say() { echo "spark.sh: $*" >&2; }

# True when pid $1 is a live (not zombie) process.
alive() {
  [ -r "/proc/$1/stat" ] || return 1
  local st
  st="$(sed 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# Prints the pid of the server this state folder started, if it is still running.
running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "spark_server.py $state " || return 1
  echo "$pid"
}

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

# GET /ready within $1 seconds while pid $2 lives; the port file appears once Spark is up.
wait_ready() {
  local deadline=$((SECONDS + $1)) port
  while [ $SECONDS -lt $deadline ]; do
    alive "$2" || return 1
    if [ -f "$state/port" ]; then
      port="$(cat "$state/port")"
      if "$py" -c 'import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=60).read() == b"ok\n" else 1)' \
        "http://127.0.0.1:$port/ready" 2>/dev/null; then
        addr="127.0.0.1:$port"
        return 0
      fi
    fi
    sleep 0.5
  done
  return 1
}

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
  if pid="$(running_pid)"; then
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
  if ! pid="$(running_pid)"; then
    rm -f "$pidfile"
    echo "stopped"
    return 0
  fi
  # The server's process group: the Python process and the Spark JVM it launched.
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 120); do
    alive "$pid" || break
    sleep 0.25
  done
  if alive "$pid"; then
    say "server (pid $pid) ignored SIGTERM for 30 s: SIGKILL to its process group"
    kill -KILL -- "-$pid" 2>/dev/null || true
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
  if pid="$(running_pid)" && [ -f "$state/port" ]; then
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
