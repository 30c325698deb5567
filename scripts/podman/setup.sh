# Podman as a second engine, sourced by scripts/setup-engine.sh (--podman): Debian's rootful Podman serving
# its Docker-compatible API at $PODMAN_SOCKET, set up for a host without systemd (cgroupfs, file events) and
# for what the program needs of an engine (docs/engines-and-images.md, "Podman"):
# - runc: Debian's crun refuses this host's hybrid cgroup layout; through scripts/podman/runc-clamped, since
#   Podman's ulimits exceed what root may set on a host with a lower ceiling, and every start would fail;
# - default ulimits within the service's own hard limits, for the same reason;
# - the loopback base-image registry allowed over plain HTTP;
# - the pids-limit hook (scripts/podman/pids-limit-hook), since nothing else can limit pids before the first process;
# - a firewall chain closing the host's address on the sandboxes' internal networks (Podman keeps the gateway
#   address on an internal bridge, where Docker drops it with inhibit_ipv4), keeping only DNS (aardvark-dns);
#   and, where a Docker engine beside it set FORWARD's policy to DROP, a rule letting the containers on one
#   such bridge (a sandbox and its proxies) reach each other, which netavark adds for no internal network.

readonly PODMAN_SOCKET=/run/podman/podman.sock
readonly PODMAN_PACKAGES=(podman runc netavark aardvark-dns iptables catatonit)
readonly PODMAN_CONF=/etc/containers/containers.conf.d/agent-sandbox.conf
readonly PODMAN_REGISTRIES_CONF=/etc/containers/registries.conf.d/agent-sandbox.conf
readonly PODMAN_HOOKS_DIR=/etc/containers/oci/hooks.d
readonly PODMAN_PIDS_HOOK=/usr/libexec/agent-sandbox/podman-pids-limit
readonly PODMAN_RUNTIME=/usr/libexec/agent-sandbox/runc-clamped
# Every internal network of a sandbox on Podman gets a bridge named with this prefix (components/engine/podman.ts).
readonly PODMAN_ISOLATED_BRIDGES=asbi+
readonly PODMAN_CHAIN=AGENT-SANDBOX-PODMAN

# Podman lowers its own process limit to 32768 as it starts; a default above what the service holds fails every start.
podman_config() {
  local nofile nproc
  nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
  [[ $nproc == unlimited ]] || ((nproc > 32768)) && nproc=32768
  cat <<CONF
# Written by scripts/setup-engine.sh --podman.
[containers]
# Docker's --read-only: no writable /run, /tmp and /var/tmp unless the container mounts them.
read_only_tmpfs = false
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc-clamped"
hooks_dir = ["$PODMAN_HOOKS_DIR"]
[engine.runtimes]
runc-clamped = ["$PODMAN_RUNTIME"]
[network]
network_backend = "netavark"
CONF
}

# Writes content to target when it differs; true when it did.
write_if_changed() {
  local target=$1 content=$2
  [[ -f $target && "$(<"$target")" == "$content" ]] && return 1
  printf '%s\n' "$content" >"$target"
}

podman_answers() { timeout 10 curl -sf --unix-socket "$PODMAN_SOCKET" http://d/_ping >/dev/null 2>&1; }

ensure_podman_files() {
  local changed=false here; here=$(dirname "${BASH_SOURCE[0]}")
  install -d "$(dirname "$PODMAN_CONF")" "$(dirname "$PODMAN_REGISTRIES_CONF")" "$PODMAN_HOOKS_DIR" "$(dirname "$PODMAN_PIDS_HOOK")"
  write_if_changed "$PODMAN_CONF" "$(podman_config)" && changed=true
  write_if_changed "$PODMAN_REGISTRIES_CONF" "$(printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REGISTRY_ADDR")" && changed=true
  write_if_changed "$PODMAN_PIDS_HOOK" "$(cat "$here/pids-limit-hook")" && changed=true
  write_if_changed "$PODMAN_RUNTIME" "$(cat "$here/runc-clamped")" && changed=true
  chmod 755 "$PODMAN_PIDS_HOOK" "$PODMAN_RUNTIME"
  write_if_changed "$PODMAN_HOOKS_DIR/agent-sandbox-pids-limit.json" \
    "$(jq -cn --arg path "$PODMAN_PIDS_HOOK" '{version: "1.0.0", hook: {path: $path}, when: {always: true}, stages: ["prestart"]}')" && changed=true
  $changed
}

# INPUT from the sandboxes' internal bridges: DNS to aardvark-dns, nothing else; FORWARD: frames bridged
# within one of them (both families).
readonly PODMAN_BRIDGED=(-i "$PODMAN_ISOLATED_BRIDGES" -o "$PODMAN_ISOLATED_BRIDGES" -m physdev --physdev-is-bridged -j ACCEPT)
ensure_podman_firewall() {
  local tables
  for tables in iptables ip6tables; do
    "$tables" -C FORWARD "${PODMAN_BRIDGED[@]}" 2>/dev/null || "$tables" -I FORWARD "${PODMAN_BRIDGED[@]}"
    "$tables" -N "$PODMAN_CHAIN" 2>/dev/null || "$tables" -F "$PODMAN_CHAIN"
    "$tables" -A "$PODMAN_CHAIN" -p udp --dport 53 -j RETURN
    "$tables" -A "$PODMAN_CHAIN" -p tcp --dport 53 -j RETURN
    "$tables" -A "$PODMAN_CHAIN" -j DROP
    "$tables" -C INPUT -i "$PODMAN_ISOLATED_BRIDGES" -j "$PODMAN_CHAIN" 2>/dev/null ||
      "$tables" -I INPUT -i "$PODMAN_ISOLATED_BRIDGES" -j "$PODMAN_CHAIN"
  done
}

remove_podman_firewall() {
  local tables
  for tables in iptables ip6tables; do
    while "$tables" -D INPUT -i "$PODMAN_ISOLATED_BRIDGES" -j "$PODMAN_CHAIN" 2>/dev/null; do :; done
    while "$tables" -D FORWARD "${PODMAN_BRIDGED[@]}" 2>/dev/null; do :; done
    "$tables" -F "$PODMAN_CHAIN" 2>/dev/null && "$tables" -X "$PODMAN_CHAIN" 2>/dev/null || true
  done
}

ensure_podman() {
  ensure_packages "${PODMAN_PACKAGES[@]}"
  local restart=false
  ensure_podman_files && restart=true
  ensure_podman_firewall
  if podman_answers && ! $restart; then note "podman ok"; return; fi
  # Only a service this script started is restarted for new settings.
  if podman_answers; then
    [[ -f $STATE_DIR/podman.pid ]] || die "a Podman service this script did not start answers at $PODMAN_SOCKET; restart it for $PODMAN_CONF to take effect"
    stop_recorded podman podman
  fi
  install -d "$(dirname "$PODMAN_SOCKET")"
  start_daemon podman podman_answers 40 0.25 podman system service --time=0 "unix://$PODMAN_SOCKET"
}

stop_podman() {
  stop_recorded podman podman
  remove_podman_firewall
}
