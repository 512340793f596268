#!/usr/bin/env bash
# A Confluent-compatible Schema Registry on loopback for kice's integration tests:
# Apicurio Registry (https://www.apicur.io/registry/docs/) from Maven Central
# (io.apicurio:apicurio-registry-app, the `all` zip: a Quarkus runner jar plus lib/),
# in-memory storage. Its Confluent Schema Registry API is served under /apis/ccompat/v7
# (https://docs.confluent.io/platform/current/schema-registry/develop/api.html).
# A restart forgets every schema.
#
# Usage: test/infra/schema-registry.sh start|stop|status
#   start   fetch the zip once, start the server in the background and wait until
#           GET <base>/subjects answers a JSON array; idempotent. The last line on stdout
#           is the Confluent-compatible base URL, e.g. http://127.0.0.1:19081/apis/ccompat/v7.
#   stop    SIGTERM, wait, then SIGKILL; idempotent.
#   status  prints "running <base URL> (pid N)" and exits 0, or "stopped" and exits 3.
#
# Environment:
#   KICE_STATE              state root (default <repo>/.state); pid, port, log under $KICE_STATE/schema-registry
#   KICE_REGISTRY_STATE     the server's own state folder instead (default $KICE_STATE/schema-registry)
#   KICE_REGISTRY_PORT      port on 127.0.0.1 (default 19081)
#   KICE_REGISTRY_TIMEOUT   seconds to wait for readiness (default 180)
#   KICE_REGISTRY_HEAP      JVM max heap (default 512m)
#   XDG_CACHE_HOME          the zip is unpacked under ${XDG_CACHE_HOME:-~/.cache}/kice/apicurio-<version>
set -euo pipefail
# shellcheck source=lib/service.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/service.sh"

version=3.0.9
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kice/apicurio-$version"
jar="$cache/apicurio-registry-app-$version-runner.jar"
state="${KICE_REGISTRY_STATE:-${KICE_STATE:-$root/.state}/schema-registry}"
port="${KICE_REGISTRY_PORT:-19081}"
base="http://127.0.0.1:$port/apis/ccompat/v7"
pidfile="$state/registry.pid"
log="$state/server.log"

# Prints the pid of the registry this state dir started, if it is still running.
registry_pid() { running_pid "$pidfile" "apicurio-registry-app-$version-runner.jar"; }

# Fetches and unpacks the zip once (Maven's cache ~/.m2 as usual); the runner jar is the stamp.
ensure_jar() {
  mkdir -p "$cache"
  exec 8>"$cache.lock"
  flock 8
  if [ ! -f "$jar" ]; then
    say "fetching io.apicurio:apicurio-registry-app:$version:zip:all into $cache (mvn)"
    if ! mvn -q dependency:copy -Dartifact="io.apicurio:apicurio-registry-app:$version:zip:all" \
      -Dtransitive=false -DoutputDirectory="$cache" >&2; then
      say "mvn dependency:copy failed"
      exit 1
    fi
    # Unpack into a temporary folder and move the jar last, so an interrupted unpack is redone.
    rm -rf "$cache/unpack"
    unzip -q "$cache/apicurio-registry-app-$version-all.zip" -d "$cache/unpack"
    rm -rf "${cache:?}/lib"
    mv "$cache/unpack/lib" "$cache/lib"
    mv "$cache/unpack/apicurio-registry-app-$version-runner.jar" "$jar"
    rm -rf "$cache/unpack" "$cache/apicurio-registry-app-$version-all.zip"
  fi
  flock -u 8
}

# The Confluent API answers GET /subjects with a JSON array (not just an open port).
answers() { curl -sf -m 2 "$base/subjects" 2>/dev/null | grep -q '^\['; }

wait_ready() { wait_for "$1" "$2" 0.2 answers; }

fail_with_log() {
  say "$1; last lines of $log:"
  tail -n 40 "$log" >&2 2>/dev/null || true
  stop_server >/dev/null 2>&1 || true
  exit 1
}

start_server() {
  local pid
  if pid="$(registry_pid)"; then
    if [ "$(cat "$state/port" 2>/dev/null)" != "$port" ]; then
      say "the registry of $state (pid $pid) runs on port $(cat "$state/port"), not $port: stop it first"
      exit 1
    fi
    wait_ready "${KICE_REGISTRY_TIMEOUT:-180}" "$pid" || fail_with_log "running registry (pid $pid) is not answering"
    echo "$base"
    return 0
  fi
  if port_open "$port"; then
    say "127.0.0.1:$port is already in use by another process (set KICE_REGISTRY_PORT)"
    exit 1
  fi
  ensure_jar
  echo "$port" >"$state/port"
  say "starting Apicurio Registry $version on $base (state $state)"
  setsid java "-Xmx${KICE_REGISTRY_HEAP:-512m}" -Dquarkus.http.host=127.0.0.1 \
    "-Dquarkus.http.port=$port" -jar "$jar" >>"$log" 2>&1 </dev/null 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$pidfile"
  wait_ready "${KICE_REGISTRY_TIMEOUT:-180}" "$pid" || fail_with_log "registry did not become ready"
  echo "$base"
}

stop_server() {
  local pid
  if pid="$(registry_pid)"; then
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
  if pid="$(registry_pid)"; then
    echo "running http://127.0.0.1:$(cat "$state/port")/apis/ccompat/v7 (pid $pid)"
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
