# Host setup shared by setup-engine.sh and setup-kubernetes.sh, which provide note, warn, die, $STATE_DIR
# and $LOG_DIR: Debian packages, and daemons without an init system, started in a session of their own,
# their pids recorded under $STATE_DIR so that stopping touches only what the script started.

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# Starts a daemon (the command after the first four arguments) in a session of its own, records its pid as
# $STATE_DIR/<name>.pid and waits until <check> succeeds, trying <tries> times <pause> seconds apart.
start_daemon() {
  local name=$1 check=$2 tries=$3 pause=$4 t i
  shift 4
  t=$(now)
  setsid nohup "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE_DIR/$name.pid"
  for i in $(seq "$tries"); do
    "$check" && { note "$name started ($(since "$t"))"; return; }
    sleep "$pause"
  done
  die "$name did not answer in time; see $LOG_DIR/$name.log"
}

# Stops a daemon only if this script recorded it and that pid still runs the same program.
stop_recorded() {
  local name=$1 program=$2 pidfile=$STATE_DIR/$1.pid pid
  [[ -f $pidfile ]] || { note "$name not started by us"; return; }
  pid=$(<"$pidfile")
  if [[ -d /proc/$pid ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$program"; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 30); do [[ -d /proc/$pid ]] || break; sleep 1; done
    [[ -d /proc/$pid ]] && warn "$name (pid $pid) still running after 30s"
    note "$name stopped"
  else
    note "$name already gone"
  fi
  rm -f "$pidfile"
}

# Installs the Debian packages of the arguments that are missing.
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then note "packages ok"; return; fi
  local t; t=$(now)
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  note "installed ${missing[*]} ($(since "$t"))"
}
