#!/usr/bin/env bash
# Apache Iceberg's REST catalog test server (RESTCatalogAdapter + RESTCatalogServlet from
# Iceberg's test jars, a JdbcCatalog on SQLite behind it) for kice's integration tests,
# run from Maven Central jars.
#
# Usage: test/infra/iceberg-rest.sh start|stop|status
#   start   fetch the jars once, start the server in the background and wait until
#           GET /v1/config answers 200; idempotent. The last line on stdout is the
#           catalog URI, e.g. http://127.0.0.1:19181.
#   stop    SIGTERM, wait, then SIGKILL; idempotent.
#   status  prints "running <uri> (pid N)" and exits 0, or "stopped" and exits 3.
#
# Environment:
#   KICE_STATE              state root (default <repo>/.state); the server keeps its SQLite
#                           catalog, warehouse, log and pid under $KICE_STATE/iceberg-rest
#   KICE_REST_PORT          port on 127.0.0.1 (default 19181)
#   KICE_REST_HEAP          JVM heap options (default "-Xms64m -Xmx512m")
#   KICE_REST_TIMEOUT       seconds to wait for readiness (default 90)
#   CATALOG_WAREHOUSE       backend warehouse (default file://$state/warehouse); an s3://
#                           warehouse also wants CATALOG_IO__IMPL=org.apache.iceberg.aws.s3.S3FileIO,
#                           CATALOG_S3_ENDPOINT, CATALOG_S3_PATH__STYLE__ACCESS=true,
#                           CATALOG_S3_ACCESS__KEY__ID, CATALOG_S3_SECRET__ACCESS__KEY,
#                           CATALOG_CLIENT_REGION (any CATALOG_* variable is passed on:
#                           CATALOG_A__B_C → catalog property a-b.c)
#   XDG_CACHE_HOME          jars go to ${XDG_CACHE_HOME:-~/.cache}/kice/iceberg-rest-<version>/libs
set -euo pipefail
# shellcheck source=lib/service.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/service.sh"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
conf="$here/iceberg-rest"
version="$(sed -n 's:.*<iceberg.version>\(.*\)</iceberg.version>.*:\1:p' "$conf/pom.xml")"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kice/iceberg-rest-$version"
libs="$cache/libs"
state="${KICE_STATE:-$root/.state}/iceberg-rest"
port="${KICE_REST_PORT:-19181}"
uri="http://127.0.0.1:$port"
pidfile="$state/rest.pid"
log="$state/logs/server.log"

# Prints the pid of the server this state dir started, if it is still running.
server_pid() { running_pid "$pidfile" "Launcher 127.0.0.1"; }

# Copies the server's jars into the cache once per pom.xml content.
ensure_libs() {
  mkdir -p "$cache"
  local want have=""
  want="$(sha256sum "$conf/pom.xml" | cut -d' ' -f1)"
  exec 8>"$cache/.lock"
  flock 8
  [ -f "$cache/pom.sha256" ] && have="$(cat "$cache/pom.sha256")"
  if [ -d "$libs" ] && [ "$have" = "$want" ]; then
    flock -u 8
    return 0
  fi
  say "fetching Iceberg $version REST server jars into $libs (Maven)"
  local tmp="$cache/libs.tmp.$$"
  rm -rf "$tmp"
  if ! mvn -q -B -f "$conf/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >&2; then
    rm -rf "$tmp"
    say "mvn dependency:copy-dependencies failed"
    exit 1
  fi
  rm -rf "$libs"
  mv "$tmp" "$libs"
  echo "$want" >"$cache/pom.sha256"
  flock -u 8
}

# Compiles Launcher.java once (per its content) into the cache.
ensure_launcher() {
  local want dir
  want="$(sha256sum "$conf/Launcher.java" | cut -c1-16)"
  dir="$cache/launcher-$want"
  if [ ! -f "$dir/Launcher.class" ]; then
    rm -rf "$dir.tmp.$$"
    javac -nowarn -d "$dir.tmp.$$" -cp "$libs/*" "$conf/Launcher.java" >&2
    rm -rf "$dir"
    mv "$dir.tmp.$$" "$dir"
  fi
  launcher_cp="$dir:$libs/*"
}

# True when GET /v1/config answers 200.
config_ok() {
  local code
  code="$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$uri/v1/config" 2>/dev/null)" || return 1
  [ "$code" = 200 ]
}

# Waits until the server answers; $1 = timeout in s, $2 = pid to watch.
wait_ready() { wait_for "$1" "$2" 0.25 config_ok; }

fail_with_log() {
  say "$1; last lines of $log:"
  tail -n 60 "$log" >&2 2>/dev/null || true
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
    wait_ready "${KICE_REST_TIMEOUT:-90}" "$pid" || fail_with_log "running server (pid $pid) is not answering"
    echo "$uri"
    return 0
  fi
  if port_open "$port"; then
    say "127.0.0.1:$port is already in use by another process (set KICE_REST_PORT)"
    exit 1
  fi
  ensure_libs
  ensure_launcher
  mkdir -p "$state/logs" "$state/warehouse"
  echo "$port" >"$state/port"
  say "starting the Iceberg $version REST catalog on $uri (state $state)"
  # shellcheck disable=SC2086
  CATALOG_CATALOG__IMPL="${CATALOG_CATALOG__IMPL:-org.apache.iceberg.jdbc.JdbcCatalog}" \
    CATALOG_URI="jdbc:sqlite:$state/rest.db" \
    CATALOG_JDBC_SCHEMA__VERSION="${CATALOG_JDBC_SCHEMA__VERSION:-V1}" \
    CATALOG_WAREHOUSE="${CATALOG_WAREHOUSE:-file://$state/warehouse}" \
    setsid java ${KICE_REST_HEAP:--Xms64m -Xmx512m} -XX:+UseSerialGC -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.showDateTime=true \
    -cp "$launcher_cp" Launcher 127.0.0.1 "$port" >>"$log" 2>&1 </dev/null 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$pidfile"
  wait_ready "${KICE_REST_TIMEOUT:-90}" "$pid" || fail_with_log "REST catalog did not become ready"
  echo "$uri"
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
