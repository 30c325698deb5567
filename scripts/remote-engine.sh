# A second Docker engine on this machine that a stack reaches only over ssh://, as it would reach another
# host: sourced by scripts/setup-engine.sh (--remote starts it, --stop stops it with the rest).
#
# - dockerd with its own data root, exec root, pidfile, API socket, containerd namespaces and cgroup parent,
#   in a network namespace of its own: a dockerd's bridge driver rewrites the DOCKER* iptables chains of
#   its namespace when it starts, which would wipe the main engine's rules were both in one namespace. The
#   namespace has no link out; it holds only its loopback and the engine's own bridges.
# - sshd on 127.0.0.1:$REMOTE_SSH_PORT, key-only, for the one user $REMOTE_USER, whose sessions get
#   DOCKER_HOST at that socket (so `docker -H ssh://…` runs `docker system dial-stdio` against it). Its
#   authorized_keys starts empty: a client (the live test) authorizes a key it made itself.
# - the loopback base-image registry bridged into the namespace's loopback (socat into a unix socket and
#   out again on the host), so the remote engine pulls 127.0.0.1:5000 as the main one does.
# Expects setup-engine.sh's STATE_DIR, LOG_DIR, REGISTRY_ADDR and helpers (note, warn, die, now, since,
# port_answers, stop_recorded).

readonly REMOTE_NS=agent-sandbox-remote
readonly REMOTE_RUN=/run/agent-sandbox-remote
readonly REMOTE_SOCKET=$REMOTE_RUN/docker.sock
readonly REMOTE_DATA=/var/lib/agent-sandbox-remote
readonly REMOTE_SSH_DIR=/var/lib/agent-sandbox-remote-ssh
readonly REMOTE_USER=agent-sandbox-remote
readonly REMOTE_SSH_PORT=2722
readonly REMOTE_PACKAGES=(openssh-server socat)
# Runs the rest of its arguments every half second until they succeed, at most $1 times.
retry() { local times=$1 i; shift; for ((i = 0; i < times; i++)); do "$@" && return; sleep 0.5; done; return 1; }
# nsenter, not `ip netns exec`: that one also mounts a fresh /sys, hiding the cgroup mounts dockerd needs.
in_remote_ns() { nsenter "--net=/run/netns/$REMOTE_NS" "$@"; }

# Debian's openssh-server starts its own sshd on port 22 when installed; only ours is wanted, so the
# package's service is kept from starting (policy-rc.d, as in images, when no policy exists already) and,
# under systemd, disabled. A machine that had openssh-server keeps its sshd as it was.
ensure_remote_packages() {
  local missing=() pkg policy=/usr/sbin/policy-rc.d made_policy=false
  for pkg in "${REMOTE_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=true; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
    $made_policy && rm -f "$policy"
    die "installing ${missing[*]} failed"
  }
  $made_policy && rm -f "$policy"
  # Nor at the next boot: systemd would start the package's sshd on every address.
  if [[ " ${missing[*]} " == *" openssh-server "* ]] && [[ -d /run/systemd/system ]]; then
    systemctl disable --now ssh.service >/dev/null 2>&1 || warn "systemctl disable ssh.service failed: the package's own sshd may start on port 22"
  fi
  note "installed ${missing[*]}"
}

remote_engine_answers() { timeout 10 docker -H "unix://$REMOTE_SOCKET" info >/dev/null 2>&1; }

# The user whose ssh sessions reach the engine: no password (`*`, which sshd without PAM does not count as
# a locked account), a shell for the dial-stdio command, the socket's group.
ensure_remote_user() {
  if ! id "$REMOTE_USER" >/dev/null 2>&1; then
    useradd --system --user-group --create-home --home-dir "/home/$REMOTE_USER" --shell /bin/sh "$REMOTE_USER"
    note "user $REMOTE_USER created"
  fi
  usermod -p '*' "$REMOTE_USER"
  install -d -m 0700 -o "$REMOTE_USER" -g "$REMOTE_USER" "/home/$REMOTE_USER/.ssh"
  local keys=/home/$REMOTE_USER/.ssh/authorized_keys
  [[ -f $keys ]] || install -m 0600 -o "$REMOTE_USER" -g "$REMOTE_USER" /dev/null "$keys"
}

ensure_remote_dockerd() {
  [[ -e /run/netns/$REMOTE_NS ]] || { ip netns add "$REMOTE_NS" && note "network namespace $REMOTE_NS created"; }
  ip -n "$REMOTE_NS" link set lo up
  if remote_engine_answers; then note "remote dockerd found"; return; fi
  local t; t=$(now)
  mkdir -p "$REMOTE_RUN" "$REMOTE_DATA"
  [[ -f $REMOTE_RUN/daemon.json ]] || echo '{}' >"$REMOTE_RUN/daemon.json"
  setsid nohup nsenter "--net=/run/netns/$REMOTE_NS" dockerd --config-file "$REMOTE_RUN/daemon.json" \
    --host "unix://$REMOTE_SOCKET" --group "$REMOTE_USER" --data-root "$REMOTE_DATA" --exec-root "$REMOTE_RUN/exec" \
    --pidfile "$REMOTE_RUN/dockerd.pid" --containerd-namespace "$REMOTE_NS" --containerd-plugins-namespace "$REMOTE_NS-plugins" \
    --cgroup-parent "/$REMOTE_NS" >>"$LOG_DIR/remote-dockerd.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE_DIR/remote-dockerd.pid"
  retry 120 remote_engine_answers || die "the remote dockerd did not answer on $REMOTE_SOCKET within 60s; see $LOG_DIR/remote-dockerd.log"
  note "remote dockerd started in netns $REMOTE_NS ($(since "$t"))"
}

# 127.0.0.1:5000 inside the namespace is the host's registry: socat listens there (started inside the
# namespace) into a unix socket that a socat on the host carries on to the registry.
remote_registry_answers() { in_remote_ns curl -fsS --max-time 3 -o /dev/null "http://$REGISTRY_ADDR/v2/" 2>/dev/null; }

ensure_remote_registry_bridge() {
  local sock=$REMOTE_RUN/registry.sock
  if remote_registry_answers; then note "registry bridged into $REMOTE_NS"; return; fi
  local half
  for half in remote-registry-host remote-registry-ns; do [[ -f $STATE_DIR/$half.pid ]] && stop_recorded "$half" socat; done
  rm -f "$sock"
  setsid nohup socat "UNIX-LISTEN:$sock,fork,mode=0600" "TCP:$REGISTRY_ADDR" >>"$LOG_DIR/remote-bridge.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE_DIR/remote-registry-host.pid"
  setsid nohup nsenter "--net=/run/netns/$REMOTE_NS" socat "TCP-LISTEN:${REGISTRY_ADDR#*:},bind=${REGISTRY_ADDR%:*},fork,reuseaddr" \
    "UNIX-CONNECT:$sock" >>"$LOG_DIR/remote-bridge.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE_DIR/remote-registry-ns.pid"
  retry 20 remote_registry_answers ||
    die "the registry does not answer at $REGISTRY_ADDR inside $REMOTE_NS; see $LOG_DIR/remote-bridge.log"
  note "registry bridged into $REMOTE_NS"
}

remote_sshd_config() {
  cat <<EOF
# Written by scripts/setup-engine.sh --remote: the ssh door to the remote engine, loopback only, key only.
Port $REMOTE_SSH_PORT
ListenAddress 127.0.0.1
HostKey $REMOTE_SSH_DIR/ssh_host_ed25519_key
PidFile none
UsePAM no
AllowUsers $REMOTE_USER
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AuthorizedKeysFile .ssh/authorized_keys
AllowTcpForwarding no
AllowStreamLocalForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
Match User $REMOTE_USER
  SetEnv DOCKER_HOST=unix://$REMOTE_SOCKET
EOF
}

ensure_remote_sshd() {
  local config=$REMOTE_SSH_DIR/sshd_config wanted t
  install -d -m 0700 "$REMOTE_SSH_DIR"
  install -d -m 0755 /run/sshd
  [[ -f $REMOTE_SSH_DIR/ssh_host_ed25519_key ]] ||
    ssh-keygen -q -t ed25519 -N '' -C "agent-sandbox-remote-engine" -f "$REMOTE_SSH_DIR/ssh_host_ed25519_key"
  wanted=$(mktemp)
  remote_sshd_config >"$wanted"
  /usr/sbin/sshd -t -f "$wanted" || { rm -f "$wanted"; die "sshd refuses the config of the remote engine's door"; }
  if port_answers "127.0.0.1:$REMOTE_SSH_PORT"; then
    if [[ -f $config ]] && cmp -s "$config" "$wanted"; then rm -f "$wanted"; note "remote sshd found on 127.0.0.1:$REMOTE_SSH_PORT"; return; fi
    [[ -f $STATE_DIR/remote-sshd.pid ]] || { rm -f "$wanted"; die "something else listens on 127.0.0.1:$REMOTE_SSH_PORT"; }
    stop_recorded remote-sshd sshd
  fi
  mv "$wanted" "$config" && chmod 0600 "$config"
  t=$(now)
  setsid nohup /usr/sbin/sshd -D -e -f "$config" >>"$LOG_DIR/remote-sshd.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE_DIR/remote-sshd.pid"
  retry 20 port_answers "127.0.0.1:$REMOTE_SSH_PORT" || die "sshd did not listen on 127.0.0.1:$REMOTE_SSH_PORT within 10s; see $LOG_DIR/remote-sshd.log"
  note "remote sshd started on 127.0.0.1:$REMOTE_SSH_PORT ($(since "$t"))"
}

ensure_remote_engine() {
  ensure_remote_packages
  ensure_remote_user
  ensure_remote_dockerd
  ensure_remote_registry_bridge
  ensure_remote_sshd
  note "remote engine: ssh://$REMOTE_USER@127.0.0.1:$REMOTE_SSH_PORT (host key $REMOTE_SSH_DIR/ssh_host_ed25519_key.pub; authorize a key in /home/$REMOTE_USER/.ssh/authorized_keys)"
}

# Everything ensure_remote_engine started; the engine's data root and the namespace stay for the next start.
stop_remote_engine() {
  stop_recorded remote-sshd sshd
  stop_recorded remote-registry-ns socat
  stop_recorded remote-registry-host socat
  stop_recorded remote-dockerd dockerd
}
