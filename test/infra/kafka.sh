#!/usr/bin/env bash
# A single-node Apache Kafka 4.x broker (KRaft, combined broker + controller) for kice's
# integration tests, run from Maven Central jars (no release tarball).
#
# Usage: test/infra/kafka.sh start [--sasl-ssl]|stop|status
#   start   fetch the jars once, format the storage once, make the test CA and SASL user
#           once, start the broker in the background and wait until it answers a metadata
#           request; idempotent. The last line on stdout is the bootstrap address of the
#           PLAINTEXT listener, e.g. 127.0.0.1:19092.
#   start --sasl-ssl
#           the same (the SASL_SSL listener is always configured), also waits until the
#           SASL_SSL listener answers (TLS + SCRAM-SHA-512), then prints
#           "sasl.env: <path>" (the CA file and the test user's credentials, as VAR=value
#           lines) and, last, the SASL_SSL address, e.g. 127.0.0.1:19094. A running broker
#           that was started without that listener (an older script) is an error: stop it.
#   stop    SIGTERM, wait, then SIGKILL; idempotent.
#   status  prints "running <address> (pid N)" and exits 0, or "stopped" and exits 3.
#
# Environment:
#   KICE_STATE            state root (default <repo>/.state); the broker keeps its data,
#                         logs, pid and config under $KICE_STATE/kafka
#   KICE_KAFKA_PORT       client port on 127.0.0.1 (default 19092); controller = port + 1
#   KICE_KAFKA_SASL_PORT  SASL_SSL listener port (default port + 2)
#   KICE_KAFKA_HEAP       JVM heap options (default "-Xms256m -Xmx1g")
#   KICE_KAFKA_TIMEOUT    seconds to wait for readiness (default 120)
#   XDG_CACHE_HOME        jars go to ${XDG_CACHE_HOME:-~/.cache}/kice/kafka-<version>/libs
set -euo pipefail
# shellcheck source=lib/service.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/service.sh"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
conf="$here/kafka"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$conf/pom.xml")"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kice/kafka-$version"
libs="$cache/libs"
state="${KICE_STATE:-$root/.state}/kafka"
port="${KICE_KAFKA_PORT:-19092}"
cport=$((port + 1))
sport="${KICE_KAFKA_SASL_PORT:-$((port + 2))}"
addr="127.0.0.1:$port"
saddr="127.0.0.1:$sport"
tls="$state/tls"
sasl_env="$state/sasl.env"
sasl_user=kice
pidfile="$state/kafka.pid"
props="$state/server.properties"
log="$state/logs/server.log"
tools_log4j="-Dlog4j2.configurationFile=$conf/tools-log4j2.properties"

# Prints the pid of the broker this state dir started, if it is still running.
broker_pid() { running_pid "$pidfile" "kafka.Kafka $props"; }

# Copies the broker's jars into the cache once per pom.xml content.
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
  say "fetching Kafka $version jars into $libs (Maven)"
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

# Compiles the readiness probe once (per Ready.java content) into the cache.
ensure_probe() {
  local want dir
  want="$(sha256sum "$conf/Ready.java" | cut -c1-16)"
  dir="$cache/probe-$want"
  if [ ! -f "$dir/Ready.class" ]; then
    rm -rf "$dir.tmp.$$"
    javac -nowarn -d "$dir.tmp.$$" -cp "$libs/*" "$conf/Ready.java" >&2
    rm -rf "$dir"
    mv "$dir.tmp.$$" "$dir"
  fi
  probe_cp="$dir:$libs/*"
}

# Makes the test CA and the broker's certificate (SAN IP:127.0.0.1, DNS:localhost, signed
# by the CA, in a PKCS12 keystore) once per state dir; openssl only, no JVM start.
ensure_tls() {
  [ -f "$tls/ca.pem" ] && [ -f "$tls/broker.p12" ] && [ -f "$tls/keystore.password" ] && return 0
  say "making a test CA and broker certificate in $tls"
  local tmp="$tls.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$tmp/keystore.password"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=kice test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$tmp/ca.key" -out "$tmp/ca.pem" &&
      openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$tmp/broker.key" -out "$tmp/broker.csr" &&
      printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
        "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$tmp/broker.ext" &&
      openssl x509 -req -days 3650 -in "$tmp/broker.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
        -CAcreateserial -extfile "$tmp/broker.ext" -out "$tmp/broker.pem" &&
      openssl pkcs12 -export -name broker -in "$tmp/broker.pem" -inkey "$tmp/broker.key" \
        -certfile "$tmp/ca.pem" -passout "file:$tmp/keystore.password" -out "$tmp/broker.p12"
  } >"$state/logs/tls.log" 2>&1 || {
    cat "$state/logs/tls.log" >&2
    rm -rf "$tmp"
    say "making the test certificates failed"
    exit 1
  }
  rm -rf "$tls"
  mv "$tmp" "$tls"
}

# The SASL test user's random password, once per state dir, and sasl.env describing it.
ensure_sasl_user() {
  if [ ! -f "$state/sasl.password" ]; then
    head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$state/sasl.password.tmp"
    mv "$state/sasl.password.tmp" "$state/sasl.password"
  fi
  {
    echo "KICE_KAFKA_SASL_BROKER=$saddr"
    echo "KICE_KAFKA_SASL_CA=$tls/ca.pem"
    echo "KICE_KAFKA_SASL_USERNAME=$sasl_user"
    echo "KICE_KAFKA_SASL_PASSWORD=$(cat "$state/sasl.password")"
    echo "KICE_KAFKA_SASL_MECHANISMS=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN"
  } >"$sasl_env.tmp"
  mv "$sasl_env.tmp" "$sasl_env"
}

# True when the broker's rendered config (the running one's, once started) has SASL_SSL.
has_sasl() { grep -q '^listeners=.*SASL_SSL://' "$props" 2>/dev/null; }

# The SASL_SSL port in the rendered config.
props_sasl_port() { sed -n 's#^listeners=.*SASL_SSL://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$props"; }

# Waits until the broker answers a metadata request on the plaintext listener and, for
# `start --sasl-ssl` or when this data dir lacks the SCRAM user (a stamp in data/ records
# the user and password it was given), adds the user and waits for the SASL_SSL listener
# too. Otherwise a plain start checks the plaintext listener only: the TLS + SCRAM check
# costs about a second, and the suite starts the broker once per test file and restarts
# it in some. $1 = timeout in s, $2 = pid to watch.
wait_ready() {
  ensure_probe
  local extra=() stamp="$state/data/scram.sha256" want upsert=1
  if has_sasl; then
    want="$(printf '%s:%s' "$sasl_user" "$(cat "$state/sasl.password")" | sha256sum | cut -d' ' -f1)"
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && upsert=0
    if [ "$sasl_mode" = 1 ] || [ "$upsert" = 1 ]; then
      extra=("127.0.0.1:$(props_sasl_port)" "$tls/ca.pem" "$sasl_user" "$state/sasl.password" "$upsert")
    fi
  fi
  java "$tools_log4j" -cp "$probe_cp" Ready "$addr" "$(($1 * 1000))" "$2" "${extra[@]}" \
    >>"$state/logs/ready.log" 2>&1 || return $?
  if [ "${#extra[@]}" -gt 0 ] && [ "$upsert" = 1 ]; then echo "$want" >"$stamp"; fi
}

# The start command's output: the SASL_SSL details and address, or the plaintext address.
print_addresses() {
  if [ "$sasl_mode" = 1 ]; then
    echo "sasl.env: $sasl_env"
    echo "127.0.0.1:$(props_sasl_port)"
  else
    echo "$addr"
  fi
}

fail_with_log() {
  say "$1; last lines of $log:"
  tail -n 60 "$log" >&2 2>/dev/null || true
  stop_broker >/dev/null 2>&1 || true
  exit 1
}

# Writes server.properties for this port and state, and formats the storage once.
prepare() {
  mkdir -p "$state/data" "$state/logs"
  if [ -f "$state/port" ] && [ "$(cat "$state/port")" != "$port" ]; then
    # The KRaft voter set recorded at format time names the controller endpoint.
    say "port changed from $(cat "$state/port") to $port: wiping $state/data"
    rm -rf "$state/data"
    mkdir -p "$state/data"
  fi
  echo "$port" >"$state/port"
  ensure_tls
  ensure_sasl_user
  sed -e "s#@PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$cport#g" -e "s#@LOG_DIRS@#$state/data#g" \
    -e "s#@SASL_PORT@#$sport#g" -e "s#@SASL_USER@#$sasl_user#g" \
    -e "s#@SASL_PASSWORD@#$(cat "$state/sasl.password")#g" -e "s#@KEYSTORE@#$tls/broker.p12#g" \
    -e "s#@KEYSTORE_PASSWORD@#$(cat "$tls/keystore.password")#g" \
    "$conf/server.properties.template" >"$props"
  if [ ! -f "$state/data/meta.properties" ]; then
    # A cluster id is 16 random bytes in unpadded base64url (what StorageTool random-uuid
    # prints), not starting with "-"; made here to save a JVM start.
    local id="-"
    while [[ "$id" == -* ]]; do
      id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    done
    if ! java "$tools_log4j" -cp "$libs/*" kafka.tools.StorageTool format --standalone \
      --ignore-formatted -t "$id" -c "$props" >"$state/logs/format.log" 2>&1; then
      cat "$state/logs/format.log" >&2
      say "formatting the KRaft storage failed"
      exit 1
    fi
  fi
}

start_broker() {
  local pid
  if pid="$(broker_pid)"; then
    if [ "$(cat "$state/port" 2>/dev/null)" != "$port" ]; then
      say "the broker of $state (pid $pid) runs on port $(cat "$state/port"), not $port: stop it first"
      exit 1
    fi
    if [ "$sasl_mode" = 1 ] && ! has_sasl; then
      say "the broker of $state (pid $pid) was started without the SASL_SSL listener: stop it and start it again"
      exit 1
    fi
    if [ "$sasl_mode" = 1 ] && [ "$(props_sasl_port)" != "$sport" ]; then
      say "the broker of $state (pid $pid) has SASL_SSL on port $(props_sasl_port), not $sport: stop it first"
      exit 1
    fi
    wait_ready "${KICE_KAFKA_TIMEOUT:-120}" "$pid" || fail_with_log "running broker (pid $pid) is not answering"
    print_addresses
    return 0
  fi
  for p in "$port" "$cport" "$sport"; do
    if port_open "$p"; then
      say "127.0.0.1:$p is already in use by another process (set KICE_KAFKA_PORT)"
      exit 1
    fi
  done
  ensure_libs
  prepare
  say "starting Kafka $version on $addr (state $state)"
  # setsid: the broker outlives this script and ignores the caller's terminal signals;
  # the lock descriptors are closed so that the broker does not hold the locks.
  # shellcheck disable=SC2086
  setsid java ${KICE_KAFKA_HEAP:--Xms256m -Xmx1g} -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$conf/log4j2.properties" -Dkafka.logs.dir="$state/logs" \
    -cp "$libs/*" kafka.Kafka "$props" >>"$log" 2>&1 </dev/null 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$pidfile"
  wait_ready "${KICE_KAFKA_TIMEOUT:-120}" "$pid" || fail_with_log "broker did not become ready"
  print_addresses
}

stop_broker() {
  local pid
  if pid="$(broker_pid)"; then
    stop_pid "$pid" 30 || true
  fi
  rm -f "$pidfile"
  echo "stopped"
}

cmd="${1:-}"
sasl_mode=0
if [ "$cmd" = start ] && [ "${2:-}" = --sasl-ssl ]; then
  sasl_mode=1
elif [ -n "${2:-}" ]; then
  echo "usage: $0 start [--sasl-ssl]|stop|status" >&2
  exit 2
fi
case "$cmd" in
start | stop)
  mkdir -p "$state"
  exec 9>"$state/.lock"
  flock 9
  if [ "$cmd" = start ]; then start_broker; else stop_broker; fi
  ;;
status)
  if pid="$(broker_pid)"; then
    echo "running 127.0.0.1:$(cat "$state/port") (pid $pid)"
  else
    echo "stopped"
    exit 3
  fi
  ;;
*)
  echo "usage: $0 start [--sasl-ssl]|stop|status" >&2
  exit 2
  ;;
esac
