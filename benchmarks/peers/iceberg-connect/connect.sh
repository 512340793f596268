#!/usr/bin/env bash
# Apache Iceberg's Kafka Connect sink under Connect standalone, from Maven Central jars,
# for the benchmark's side-by-side run (benchmarks/src/systems/connect.ts drives it).
#
# Usage:
#   connect.sh prepare
#       fetch the jars once (per content of the two poms) into
#       ${XDG_CACHE_HOME:-~/.cache}/kice/iceberg-connect-<sha>/{runtime,plugins/iceberg}
#       and print that folder.
#   connect.sh run <state-dir> <broker> <topic> <ns.table> <commit-interval-ms> <tasks>
#       render worker + sink properties into <state-dir>, then exec the Connect worker
#       (ConnectStandalone worker.properties sink.properties) in the foreground; the sink
#       auto-creates <ns.table> in the Hadoop catalog <state-dir>/warehouse. Log:
#       <state-dir>/connect.log. Stop it with SIGTERM.
# Environment: KICE_CONNECT_HEAP (default "-Xms512m -Xmx2g").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sha="$(cat "$here/runtime-pom.xml" "$here/plugin-pom.xml" | sha256sum | cut -c1-12)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kice/iceberg-connect-$sha"

say() { echo "connect.sh: $*" >&2; }

copy_deps() { # pom, output dir
  local tmp="$2.tmp.$$"
  rm -rf "$tmp"
  if ! mvn -q -B -f "$1" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$tmp" >&2; then
    rm -rf "$tmp"
    say "mvn dependency:copy-dependencies failed for $1"
    exit 1
  fi
  rm -rf "$2"
  mv "$tmp" "$2"
}

prepare() {
  mkdir -p "$cache"
  exec 8>"$cache/.lock"
  flock 8
  if [ ! -f "$cache/ready" ]; then
    say "fetching Kafka Connect + Iceberg sink jars into $cache (Maven)"
    copy_deps "$here/runtime-pom.xml" "$cache/runtime"
    mkdir -p "$cache/plugins"
    copy_deps "$here/plugin-pom.xml" "$cache/plugins/iceberg"
    touch "$cache/ready"
  fi
  flock -u 8
  exec 8>&-
}

cmd="${1:-}"
case "$cmd" in
prepare)
  prepare
  echo "$cache"
  ;;
run)
  [ $# -eq 7 ] || { say "usage: connect.sh run <state-dir> <broker> <topic> <ns.table> <interval-ms> <tasks>"; exit 2; }
  state="$2" broker="$3" topic="$4" table="$5" interval="$6" tasks="$7"
  prepare
  mkdir -p "$state/warehouse"
  name="kice-bench-sink-$(basename "$state")"
  port=$((18100 + RANDOM % 800))
  render() {
    sed -e "s#@BROKER@#$broker#g" -e "s#@REST_PORT@#$port#g" -e "s#@STATE@#$state#g" \
      -e "s#@PLUGINS@#$cache/plugins#g" -e "s#@NAME@#$name#g" -e "s#@TASKS@#$tasks#g" \
      -e "s#@TOPIC@#$topic#g" -e "s#@TABLE@#$table#g" -e "s#@WAREHOUSE@#$state/warehouse#g" \
      -e "s#@INTERVAL_MS@#$interval#g" "$1" >"$2"
  }
  render "$here/worker.properties.template" "$state/worker.properties"
  render "$here/iceberg-sink.properties.template" "$state/iceberg-sink.properties"
  # The sink finds the worker file by reading the java command line: keep it the first
  # argument after the main class.
  # shellcheck disable=SC2086
  exec java ${KICE_CONNECT_HEAP:--Xms512m -Xmx2g} -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$here/log4j.properties" -Dkice.connect.log="$state/connect.log" \
    -cp "$cache/runtime/*" org.apache.kafka.connect.cli.ConnectStandalone \
    "$state/worker.properties" "$state/iceberg-sink.properties"
  ;;
*)
  echo "usage: $0 prepare | run <state-dir> <broker> <topic> <ns.table> <interval-ms> <tasks>" >&2
  exit 2
  ;;
esac
