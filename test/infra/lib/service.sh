# shellcheck shell=bash
# Lifecycle helpers shared by the service scripts in test/infra (kafka.sh, s3.sh,
# iceberg-rest.sh, schema-registry.sh, spark.sh). Sourced, never run:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/service.sh"
# It defines functions only (and the say prefix); it sets no shell options and starts
# nothing, so it is safe under the callers' `set -euo pipefail`.
#
# Contracts:
#   say <words...>
#       prints "<script>: <words>" on stderr; <script> is the base name of the file that
#       sourced this library (e.g. "kafka.sh: ...").
#   alive <pid>
#       true when <pid> is a live process; false for a missing pid or a zombie (a process
#       that has exited but has not been reaped counts as gone).
#   running_pid <pidfile> <cmdline-marker>
#       prints the pid recorded in <pidfile> and returns 0 when that file holds a number,
#       the process is alive, and its command line (arguments joined by single spaces)
#       contains <cmdline-marker> as a fixed string; otherwise prints nothing and returns
#       1. The marker guards against a recycled pid now used by another program.
#   port_open <port>
#       true when something accepts TCP connections on 127.0.0.1:<port>.
#   wait_for <seconds> <pid> <interval> <check> [args...]
#       runs `<check> [args...]` every <interval> seconds until it succeeds (returns 0),
#       <pid> is no longer alive (returns 1), or <seconds> have passed (returns 1). The
#       check runs in this shell, so it may set variables for the caller.
#   stop_pid <pid> <seconds> [group]
#       sends SIGTERM to <pid> and waits up to <seconds> for it to go; if it is still
#       alive, sends SIGKILL (to its whole process group -<pid> when the third argument is
#       "group", for a setsid-started process with children) and waits up to 10 s more.
#       Returns 0 once the process is gone, 1 (after a say) if it survived even that.
#       A pid that is already gone returns 0 at once.

say_prefix="$(basename "${BASH_SOURCE[1]:-$0}")"

say() { echo "$say_prefix: $*" >&2; }

alive() {
  [ -r "/proc/$1/stat" ] || return 1
  local st
  # Field 3 of /proc/<pid>/stat, after the parenthesised command name (which may itself
  # contain spaces or parentheses: hence the greedy match up to the last ") ").
  st="$(sed 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

running_pid() {
  [ -f "$1" ] || return 1
  local pid
  pid="$(cat "$1")"
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local deadline=$((SECONDS + $1)) pid="$2" interval="$3"
  shift 3
  while ((SECONDS < deadline)); do
    "$@" && return 0
    alive "$pid" || return 1
    sleep "$interval"
  done
  return 1
}

# Polls alive <pid> every 0.25 s for up to <seconds>; true once it is gone.
_gone_within() {
  local i
  for ((i = 0; i < $2 * 4; i++)); do
    alive "$1" || return 0
    sleep 0.25
  done
  ! alive "$1"
}

stop_pid() {
  local pid="$1" secs="$2" target="$1" what=SIGKILL
  if [ "${3:-}" = group ]; then
    target="-$1"
    what="SIGKILL to its process group"
  fi
  kill -TERM "$pid" 2>/dev/null || true
  _gone_within "$pid" "$secs" && return 0
  say "pid $pid ignored SIGTERM for $secs s: $what"
  kill -KILL -- "$target" 2>/dev/null || true
  _gone_within "$pid" 10 && return 0
  say "pid $pid is still alive 10 s after SIGKILL"
  return 1
}
