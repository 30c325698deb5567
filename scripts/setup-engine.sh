#!/usr/bin/env bash
# Prepares this Debian host to build and run agent sandboxes: packages, a running dockerd, qemu
# emulation for arm64, local base images (no public registry is reachable), a loopback registry
# holding copies of those images, a second loopback registry like a user's (TLS from a CA of ours,
# htpasswd login) that stacks push to and, when scripts/setup-pulumi.sh has built it, a BuildKit daemon
# registered as the buildx builder "agent-sandbox" for the real docker-build provider (see
# docs/pulumi-tools.md, "A BuildKit builder for the docker-build provider", and docs/registry.md) and,
# when setup-pulumi.sh has built it, gVisor's runsc registered with dockerd as the runtime "runsc" (only
# with a dockerd this script started; for any other it prints the daemon.json lines to add and changes nothing).
#
#   scripts/setup-engine.sh           idempotent; quick when everything is already in place
#   scripts/setup-engine.sh --arm64   also build the arm64 base images (slow: emulated second stage)
#                                     tagged $SLIM_IMAGE-arm64 and $NODE_IMAGE-arm64, and publish
#                                     amd64+arm64 lists of both ($REGISTRY_ADDR/...-multiarch)
#   scripts/setup-engine.sh --podman  also Podman's Docker-compatible API at unix:///run/podman/podman.sock
#                                     (scripts/podman/setup.sh)
#   scripts/setup-engine.sh --remote  also start a second engine reachable only over ssh:// on loopback
#                                     (scripts/remote-engine.sh; docs/engines-and-images.md)
#   scripts/setup-engine.sh --stop    stop only the daemons an earlier run started
#   scripts/setup-engine.sh --restart-dockerd
#                                     restart the dockerd an earlier run started, as `systemctl restart
#                                     docker` would; containers come back by their restart policy
#
# Must run as root. Whatever it starts is recorded under $STATE_DIR so --stop never touches a
# dockerd or registry that someone else started.
set -euo pipefail

readonly STATE_DIR=/run/agent-sandbox-engine
readonly CACHE_DIR=/var/cache/agent-sandbox
readonly LOG_DIR=/var/log/agent-sandbox
readonly SUITE=bookworm
readonly SLIM_IMAGE=agent-sandbox/debian:bookworm-slim
readonly NODE_IMAGE=agent-sandbox/node:bookworm
# Plain HTTP, no login: only the base images live here (Docker and our BuildKit config allow plain
# HTTP to it because it is loopback); nothing a stack builds is pushed to it.
readonly REGISTRY_ADDR=127.0.0.1:5000
# The registry a stack pushes to, as a user's would be: HTTPS with a certificate from a CA of ours
# (trusted by the host, dockerd and the BuildKit daemon) and an htpasswd (bcrypt) login. Its CA, keys,
# htpasswd and the login file live under REGISTRY_TLS_DIR, so they survive reboots and reruns.
# It is addressed by a name (in /etc/hosts, for 127.0.0.1), not by a loopback IP: BuildKit and buildx
# talk plain HTTP to "localhost" and 127.0.0.0/8 unless a buildkitd config says otherwise, and the
# docker-build provider's index step (buildx imagetools in the provider) reads only the config stored
# with a buildx builder, which the remote driver cannot have. A user's registry has a name too.
readonly TLS_REGISTRY_NAME=registry.agent-sandbox.test
readonly TLS_REGISTRY_ADDR=$TLS_REGISTRY_NAME:5443
readonly TLS_REGISTRY_BIND=127.0.0.1:5443
readonly REGISTRY_TLS_DIR=/var/lib/agent-sandbox-registry
readonly REGISTRY_TLS_STORAGE=/var/lib/docker-registry-tls
readonly REGISTRY_USER=agent-sandbox
# Root-only: the address, user, password and CA of the TLS registry, as shell assignments the live tests read.
readonly REGISTRY_LOGIN_FILE=$REGISTRY_TLS_DIR/login.env
readonly REGISTRY_CA_HOST=/usr/local/share/ca-certificates/agent-sandbox-registry-ca.crt
# Tag suffix of the amd64+arm64 lists of the base images (published when --arm64 built the arm64 ones).
readonly MULTIARCH_SUFFIX=-multiarch
# openssl and git: the live suite's test CA and its stand-in git server (git http-backend);
# apache2-utils: htpasswd for the TLS registry's login.
readonly PACKAGES=(docker.io debootstrap qemu-user-static binfmt-support docker-registry iproute2 curl jq openssl git apache2-utils)
readonly BUILDKIT_ADDR=unix:///run/agent-sandbox-buildkit/buildkitd.sock
readonly BUILDKIT_ROOT=/var/lib/agent-sandbox-buildkit
readonly BUILDER=agent-sandbox
readonly DAEMON_JSON=/etc/docker/daemon.json
# Linked there by scripts/setup-pulumi.sh (never Debian's runsc package: it is from 2022 and has no systrap).
readonly RUNSC=/usr/local/bin/runsc
# --platform=systrap: the platform that needs no virtualisation (kvm hangs on hosts whose /dev/kvm is
#   a nested or PVM device; ptrace is the slow fallback). runsc's default already: named so that a
#   default changing upstream changes nothing here.
# --oci-seccomp: without it runsc ignores the container's seccomp profile (Seccomp: 0 inside), and
#   gVisor's own kernel then grants what Docker's profile refuses under runc: keyctl, user namespaces
#   (unshare -U). With it the sandbox keeps the engine's profile, as under runc (docs/gvisor-findings.md).
readonly RUNSC_ARGS=(--platform=systrap --oci-seccomp)

summary=()
buildkitd_ready=false
# shellcheck source=podman/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/podman/setup.sh"
note() { summary+=("$1"); }
warn() { echo "setup-engine: WARNING: $*" >&2; }
die() { echo "setup-engine: ERROR: $*" >&2; exit 1; }
# shellcheck source=lib/daemons.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemons.sh"

# `docker info` can hang on a wedged daemon, hence the timeout.
engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

ensure_dockerd() {
  if engine_answers; then note "dockerd found"; return; fi
  start_daemon dockerd engine_answers 60 1 dockerd
}

# SIGTERM to dockerd alone (systemd's KillMode=process for docker.service): it stops its containers and
# its containerd itself; then a new dockerd, which starts the containers whose restart policy asks for it.
# Only a dockerd this script started and recorded is restarted.
restart_dockerd() {
  local pidfile=$STATE_DIR/dockerd.pid pid t i
  [[ -f $pidfile ]] || die "no dockerd recorded in $pidfile: this script did not start the running engine; restart it the way it was started"
  pid=$(<"$pidfile")
  [[ -d /proc/$pid ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q dockerd ||
    die "the dockerd recorded in $pidfile (pid $pid) no longer runs; run $0 to start one"
  t=$(now)
  kill -TERM "$pid"
  for i in $(seq 120); do [[ -d /proc/$pid ]] || break; sleep 0.5; done
  [[ -d /proc/$pid ]] && die "dockerd (pid $pid) still runs 60s after SIGTERM; see $LOG_DIR/dockerd.log"
  rm -f "$pidfile"
  note "dockerd stopped ($(since "$t"))"
  ensure_dockerd
}

# The dockerd recorded in $STATE_DIR/dockerd.pid, if it still runs: the only one this script may change.
our_dockerd_pid() {
  local pidfile=$STATE_DIR/dockerd.pid pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ -d /proc/$pid ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q dockerd || return 1
  echo "$pid"
}

# Through stdin: jq 1.6 would take an argument that starts with -- for an option of its own.
runsc_runtime() { printf '%s\n' "${RUNSC_ARGS[@]}" | jq -cSnR --arg path "$RUNSC" '{path: $path, runtimeArgs: [inputs]}'; }

# The runtime as dockerd reports it (docker info), normalised for comparison; empty when it has none.
registered_runsc() { timeout 10 docker info --format '{{json .Runtimes}}' 2>/dev/null | jq -cS '.runsc // empty' 2>/dev/null || true; }

# gVisor's runsc as dockerd's runtime "runsc" (containers choose it with --runtime runsc; the default
# stays runc). A dockerd this script started gets it in daemon.json, every other key kept, and is told
# to reload (SIGHUP: dockerd 20.10 reloads `runtimes` without a restart, containers keep running); for
# any other dockerd the lines to add are printed and nothing changes. Optional: without runsc, a warning.
ensure_runsc() {
  if [[ ! -x $RUNSC ]]; then
    warn "$RUNSC not found: sandboxes cannot run on gVisor; run scripts/setup-pulumi.sh first"
    note "no runsc (run scripts/setup-pulumi.sh first)"; return
  fi
  local want pid current tmp i
  want=$(runsc_runtime)
  if [[ $(registered_runsc) == "$want" ]]; then note "runsc registered"; return; fi
  if ! pid=$(our_dockerd_pid); then
    echo "setup-engine: this dockerd was not started by this script, so it is left as it is. To run sandboxes on gVisor, add to $DAEMON_JSON (beside its other keys; a runsc entry there already: replace it) and reload dockerd (kill -HUP \$(pidof dockerd), or systemctl reload docker):" >&2
    jq -n --argjson runsc "$want" '{runtimes: {runsc: $runsc}}' | sed '1d;$d' >&2
    note "runsc NOT registered (dockerd not ours: daemon.json lines printed above)"; return
  fi
  current='{}'
  if [[ -s $DAEMON_JSON ]]; then
    current=$(jq -c . "$DAEMON_JSON" 2>/dev/null) && jq -e 'type == "object"' <<<"$current" >/dev/null ||
      die "$DAEMON_JSON is not a JSON object; fix it, then run this again"
  fi
  if ! jq -e --argjson runsc "$want" '.runtimes.runsc == $runsc' <<<"$current" >/dev/null; then
    mkdir -p "$(dirname "$DAEMON_JSON")"
    tmp=$(mktemp "$DAEMON_JSON.XXXXXX")
    jq --argjson runsc "$want" '.runtimes.runsc = $runsc' <<<"$current" >"$tmp"
    chmod 644 "$tmp"
    mv "$tmp" "$DAEMON_JSON"
  fi
  kill -HUP "$pid"
  for i in $(seq 20); do
    [[ $(registered_runsc) == "$want" ]] && { note "runsc registered ($DAEMON_JSON runtimes.runsc: ${RUNSC_ARGS[*]}; dockerd reloaded)"; return; }
    sleep 0.5
  done
  die "dockerd (pid $pid) did not take runtime runsc from $DAEMON_JSON after SIGHUP; see $LOG_DIR/dockerd.log"
}

# Emulation is optional (only arm64 builds need it), so every failure here is a warning.
ensure_binfmt() {
  local dir=/proc/sys/fs/binfmt_misc
  if ! mountpoint -q "$dir" && ! mount binfmt_misc -t binfmt_misc "$dir" 2>/dev/null; then
    warn "cannot mount binfmt_misc at $dir (no privilege?); arm64 builds will not work"
    note "arm64 emulation unavailable"; return
  fi
  if [[ ! -e $dir/qemu-aarch64 ]] && ! update-binfmts --enable qemu-aarch64 2>/dev/null; then
    warn "update-binfmts --enable qemu-aarch64 failed; arm64 builds will not work"
    note "arm64 emulation unavailable"; return
  fi
  if [[ $(head -n1 "$dir/qemu-aarch64") != enabled ]]; then
    warn "qemu-aarch64 is registered but disabled ($dir/qemu-aarch64); arm64 builds will not work"
    note "arm64 emulation disabled"; return
  fi
  note "arm64 emulation ok"
}

# The mirror is the host's own, read at run time (never hard-coded): prefer the URI of the deb822
# stanza that lists $SUITE, then any non-security deb line of a classic sources.list.
debian_mirror() {
  local uri=""
  if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    uri=$(awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; hit = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uris = u[1] }
          if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) hit = 1 }
        }
        if (hit && uris != "") { print uris; exit }
      }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [[ -z $uri && -r /etc/apt/sources.list ]]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' \
      /etc/apt/sources.list)
  fi
  [[ -n $uri ]] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list; add a 'deb' source for $SUITE"
  echo "$uri"
}

# Turns a fresh debootstrap tree into a small container root: no docs/man/locales (also for later
# installs), no apt caches, no daemons started by package scripts, and the host's apt sources
# (same mirror, plus updates and security) when they describe $SUITE.
slim_rootfs() {
  local root=$1
  cat >"$root/etc/dpkg/dpkg.cfg.d/agent-sandbox-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cat >"$root/etc/apt/apt.conf.d/agent-sandbox-slim" <<'EOF'
APT::Install-Recommends "false";
Acquire::Languages "none";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
EOF
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  if grep -qw "$SUITE" /etc/apt/sources.list.d/debian.sources 2>/dev/null; then
    cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/debian.sources"
    rm -f "$root/etc/apt/sources.list"
  fi
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$root"/usr/share/{man,info}/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
}

# debootstrap for a foreign arch runs its second stage under qemu (binfmt "F" flag, so the host
# interpreter works inside the chroot without copying it in).
bootstrap_rootfs() {
  local arch=$1 root=$2 mirror
  mirror=$(debian_mirror)
  local common=(--variant=minbase --include=ca-certificates --arch="$arch" --cache-dir="$CACHE_DIR/debs-$arch")
  mkdir -p "$CACHE_DIR/debs-$arch"
  if [[ $arch == "$(dpkg --print-architecture)" ]]; then
    debootstrap "${common[@]}" "$SUITE" "$root" "$mirror" >>"$LOG_DIR/debootstrap-$arch.log" 2>&1
  else
    debootstrap "${common[@]}" --foreign "$SUITE" "$root" "$mirror" >>"$LOG_DIR/debootstrap-$arch.log" 2>&1
    chroot "$root" /debootstrap/debootstrap --second-stage >>"$LOG_DIR/debootstrap-$arch.log" 2>&1
  fi
}

# The finished root filesystem is cached as a tarball, so recreating a deleted image takes seconds.
# It is loaded by a FROM-scratch build rather than `docker import`, whose --platform needs an
# experimental daemon: without it an arm64 rootfs would be labelled amd64 and never match.
ensure_slim_image() {
  local arch=$1 tag=$2
  if docker image inspect "$tag" >/dev/null 2>&1; then note "$tag found"; return; fi
  local t context="$CACHE_DIR/debian-$SUITE-slim-$arch"
  t=$(now)
  mkdir -p "$context"
  if [[ ! -s $context/rootfs.tar ]]; then
    local root; root=$(mktemp -d "$CACHE_DIR/rootfs-$arch.XXXXXX")
    bootstrap_rootfs "$arch" "$root" || die "debootstrap $arch failed; see $LOG_DIR/debootstrap-$arch.log"
    slim_rootfs "$root"
    tar --numeric-owner --xattrs -C "$root" -cf "$context/rootfs.tar.tmp" .
    mv "$context/rootfs.tar.tmp" "$context/rootfs.tar"
    rm -rf "$root"
  fi
  BUILDX_BUILDER=default DOCKER_BUILDKIT=1 "$(buildkit_client)" build -q --platform "linux/$arch" \
    --label dev.agent-sandbox.managed-by=agent-sandbox -t "$tag" -f - "$context" \
    >>"$LOG_DIR/base-images.log" 2>&1 <<'EOF' || die "importing $tag failed; see $LOG_DIR/base-images.log"
FROM scratch
ADD rootfs.tar /
CMD ["bash"]
EOF
  note "$tag built ($(since "$t"))"
}

# Docker CLI 23+ delegates BuildKit builds to the buildx plugin, which Debian 12 does not package;
# the docker.io client (20.10) still has BuildKit built in, with --secret and --platform. Through buildx
# the build must use the engine's own builder ("default"): only it stores the image in the engine.
buildkit_client() {
  if docker buildx version >/dev/null 2>&1; then echo docker; else echo /usr/bin/docker; fi
}

# The builder base only needs node+npm to `npm pack` the CLI; Debian's own packages avoid any
# image registry.
ensure_node_image() {
  local arch=$1 base=$2 tag=$3
  if docker image inspect "$tag" >/dev/null 2>&1; then note "$tag found"; return; fi
  local t; t=$(now)
  BUILDX_BUILDER=default DOCKER_BUILDKIT=1 "$(buildkit_client)" build -q --platform "linux/$arch" --build-arg BASE="$base" \
    --label dev.agent-sandbox.managed-by=agent-sandbox -t "$tag" - >>"$LOG_DIR/base-images.log" 2>&1 <<'EOF' \
    || die "building $tag failed; see $LOG_DIR/base-images.log"
ARG BASE
FROM $BASE
RUN apt-get update && apt-get install -y nodejs npm && rm -rf /var/lib/apt/lists/*
CMD ["node"]
EOF
  note "$tag built ($(since "$t"))"
}

port_answers() { timeout 3 bash -c "exec 3<>/dev/tcp/${1%:*}/${1#*:}" 2>/dev/null; }

# Starts Debian's docker-registry as its own user with a config of ours, records its pid as $name.pid,
# and waits for it to listen. Debian's own config listens on every interface; ours bind loopback only.
start_registry() {
  local name=$1 addr=$2 config=$3 storage=$4 i
  install -d -o docker-registry -g docker-registry "$storage"
  setsid nohup runuser -u docker-registry -- docker-registry serve "$config" \
    >>"$LOG_DIR/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE_DIR/$name.pid"
  for i in $(seq 20); do
    port_answers "$addr" && return
    sleep 0.5
  done
  die "$name did not listen on $addr within 10s; see $LOG_DIR/$name.log"
}

# Docker allows plain HTTP to 127.0.0.0/8 registries without any insecure-registries setting.
ensure_registry() {
  if port_answers "$REGISTRY_ADDR"; then note "registry found on $REGISTRY_ADDR"; return; fi
  local config=$STATE_DIR/registry.yml
  cat >"$config" <<EOF
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: /var/lib/docker-registry }
  delete: { enabled: true }
http:
  addr: $REGISTRY_ADDR
EOF
  start_registry registry "$REGISTRY_ADDR" "$config" /var/lib/docker-registry
  note "registry started on $REGISTRY_ADDR"
}

# Writes $2 (a file) to $1 only when it differs; true when it wrote.
replace_if_changed() {
  local target=$1 source=$2
  if [[ -f $target ]] && cmp -s "$target" "$source"; then rm -f "$source"; return 1; fi
  mv "$source" "$target"
}

# The CA (10 years) and the server certificate it signs ($TLS_REGISTRY_NAME, localhost and 127.0.0.1,
# 825 days, re-issued 30 days before it expires, when the CA changed or when it lacks the name). EC P-256 keys: quick to make. Sets pki_changed.
pki_changed=false
ensure_registry_pki() {
  local dir=$REGISTRY_TLS_DIR
  install -d -m 0750 -o root -g docker-registry "$dir"
  if [[ ! -s $dir/ca.crt || ! -s $dir/ca.key ]]; then
    cat >"$dir/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = ca
[dn]
CN = agent-sandbox loopback registry CA
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
    (umask 077 && openssl req -x509 -new -config "$dir/ca.cnf" -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 3650 2>>"$LOG_DIR/registry-tls.log") ||
      die "making the registry CA failed; see $LOG_DIR/registry-tls.log"
    chmod 0644 "$dir/ca.crt"
    rm -f "$dir/server.crt"
    pki_changed=true
    note "registry CA made ($dir/ca.crt)"
  fi
  if [[ ! -s $dir/server.crt || ! -s $dir/server.key ]] ||
    ! openssl verify -CAfile "$dir/ca.crt" "$dir/server.crt" >/dev/null 2>&1 ||
    ! openssl x509 -checkend $((30 * 86400)) -noout -in "$dir/server.crt" >/dev/null 2>&1 ||
    ! openssl x509 -noout -ext subjectAltName -in "$dir/server.crt" 2>/dev/null | grep -q "DNS:$TLS_REGISTRY_NAME\b"; then
    cat >"$dir/server.cnf" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:$TLS_REGISTRY_NAME, DNS:localhost, IP:127.0.0.1
EOF
    (umask 027 && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$TLS_REGISTRY_NAME" \
      -keyout "$dir/server.key" -out "$dir/server.csr" 2>>"$LOG_DIR/registry-tls.log" &&
      openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
        -days 825 -extfile "$dir/server.cnf" -out "$dir/server.crt" 2>>"$LOG_DIR/registry-tls.log") ||
      die "issuing the registry certificate failed; see $LOG_DIR/registry-tls.log"
    chgrp docker-registry "$dir/server.key" && chmod 0640 "$dir/server.key"
    chmod 0644 "$dir/server.crt"
    rm -f "$dir/server.csr"
    pki_changed=true
    note "registry certificate issued"
  fi
}

# The login: a random password made once, kept only in the root-only login file and (bcrypt) in the
# htpasswd file; htpasswd reads it on stdin, so it is in no command line. Sets pki_changed on a new htpasswd.
ensure_registry_login() {
  local dir=$REGISTRY_TLS_DIR password="" tmp
  [[ -s $REGISTRY_LOGIN_FILE ]] && password=$(sed -n 's/^REGISTRY_PASSWORD=//p' "$REGISTRY_LOGIN_FILE")
  if [[ -z $password ]]; then
    password=$(openssl rand -hex 24)
    rm -f "$dir/htpasswd"
    note "registry login made ($REGISTRY_LOGIN_FILE)"
  fi
  tmp=$(umask 077 && mktemp "$REGISTRY_LOGIN_FILE.XXXXXX")
  cat >"$tmp" <<EOF
# Written by scripts/setup-engine.sh: the TLS loopback registry's login (root only). Never print it.
REGISTRY_ADDRESS=$TLS_REGISTRY_ADDR
REGISTRY_USERNAME=$REGISTRY_USER
REGISTRY_PASSWORD=$password
REGISTRY_CA=$dir/ca.crt
EOF
  replace_if_changed "$REGISTRY_LOGIN_FILE" "$tmp" || true
  if [[ -s $dir/htpasswd ]] && htpasswd -v -i "$dir/htpasswd" "$REGISTRY_USER" <<<"$password" >/dev/null 2>&1; then return; fi
  (umask 027 && htpasswd -c -i -B "$dir/htpasswd.tmp" "$REGISTRY_USER" <<<"$password" >/dev/null 2>>"$LOG_DIR/registry-tls.log") ||
    die "htpasswd failed; see $LOG_DIR/registry-tls.log"
  chgrp docker-registry "$dir/htpasswd.tmp" && chmod 0640 "$dir/htpasswd.tmp"
  mv "$dir/htpasswd.tmp" "$dir/htpasswd"
  pki_changed=true
}

# The registry's name, for 127.0.0.1 in /etc/hosts (dockerd, buildkitd and the providers resolve it there).
# Who trusts the CA: the host's bundle (curl, Go programs such as the docker-build provider and the
# Pulumi CLI), dockerd (certs.d, read at each pull and push: no restart) and the BuildKit daemon (its
# config, below in ensure_buildkitd).
ensure_registry_trust() {
  local ca=$REGISTRY_TLS_DIR/ca.crt tmp
  if ! grep -Eq "^[[:space:]]*127\.0\.0\.1[[:space:]]+([^#]*[[:space:]])?$TLS_REGISTRY_NAME([[:space:]]|\$)" /etc/hosts; then
    printf '127.0.0.1 %s # agent-sandbox TLS loopback registry (scripts/setup-engine.sh)\n' "$TLS_REGISTRY_NAME" >>/etc/hosts
    note "$TLS_REGISTRY_NAME added to /etc/hosts"
  fi
  tmp=$(mktemp) && cp "$ca" "$tmp"
  if replace_if_changed "$REGISTRY_CA_HOST" "$tmp"; then
    chmod 0644 "$REGISTRY_CA_HOST"
    update-ca-certificates >>"$LOG_DIR/registry-tls.log" 2>&1 || die "update-ca-certificates failed; see $LOG_DIR/registry-tls.log"
    note "host trusts the registry CA"
  fi
  mkdir -p "/etc/docker/certs.d/$TLS_REGISTRY_ADDR"
  tmp=$(mktemp) && cp "$ca" "$tmp"
  if replace_if_changed "/etc/docker/certs.d/$TLS_REGISTRY_ADDR/ca.crt" "$tmp"; then
    chmod 0644 "/etc/docker/certs.d/$TLS_REGISTRY_ADDR/ca.crt"
    note "dockerd trusts the registry CA"
  fi
}

# /v2/ answers 401 without the login and 200 with it, over TLS verified against our CA. The login goes
# to curl on stdin (a config line), never on its command line.
tls_registry_works() {
  local password code
  password=$(sed -n 's/^REGISTRY_PASSWORD=//p' "$REGISTRY_LOGIN_FILE")
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$REGISTRY_TLS_DIR/ca.crt" "https://$TLS_REGISTRY_ADDR/v2/") || return 1
  [[ $code == 401 ]] || return 1
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$REGISTRY_TLS_DIR/ca.crt" -K - "https://$TLS_REGISTRY_ADDR/v2/" \
    <<<"user = \"$REGISTRY_USER:$password\"") || return 1
  [[ $code == 200 ]]
}

ensure_tls_registry() {
  ensure_registry_pki
  ensure_registry_login
  ensure_registry_trust
  local config=$STATE_DIR/registry-tls.yml dir=$REGISTRY_TLS_DIR
  if port_answers "$TLS_REGISTRY_BIND"; then
    if $pki_changed && [[ -f $STATE_DIR/registry-tls.pid ]]; then
      stop_recorded registry-tls docker-registry   # it read the old certificate or htpasswd at its start
    elif tls_registry_works; then
      note "TLS registry found on $TLS_REGISTRY_ADDR"; return
    else
      die "something else listens on $TLS_REGISTRY_BIND, or the TLS registry there does not take the login in $REGISTRY_LOGIN_FILE; stop it, or run $0 --stop and then $0"
    fi
  fi
  cat >"$config" <<EOF
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $REGISTRY_TLS_STORAGE }
  delete: { enabled: true }
http:
  addr: $TLS_REGISTRY_BIND
  tls:
    certificate: $dir/server.crt
    key: $dir/server.key
auth:
  htpasswd:
    realm: agent-sandbox-registry
    path: $dir/htpasswd
EOF
  start_registry registry-tls "$TLS_REGISTRY_BIND" "$config" "$REGISTRY_TLS_STORAGE"
  tls_registry_works || die "the TLS registry on $TLS_REGISTRY_ADDR does not answer 401 without and 200 with the login; see $LOG_DIR/registry-tls.log"
  note "TLS registry started on $TLS_REGISTRY_ADDR ($TLS_REGISTRY_BIND; login in $REGISTRY_LOGIN_FILE)"
}

buildkitd_answers() { timeout 10 buildctl --addr "$BUILDKIT_ADDR" debug workers >/dev/null 2>&1; }

# The docker-build provider cannot use the engine's built-in builder and, without Docker Hub, cannot
# start moby/buildkit in a container itself; this daemon (built by setup-pulumi.sh) is its builder.
# It cannot see the engine's images, hence the registry copies below; plain HTTP is allowed to the
# loopback base-image registry only, and the TLS registry's CA is named for pushes there. A daemon
# this script started with another config is restarted (a build running then fails; rerun it).
# Sets buildkitd_ready when it answers.
ensure_buildkitd() {
  if ! command -v buildkitd >/dev/null || ! command -v buildctl >/dev/null; then
    warn "buildkitd/buildctl not on PATH: the real docker-build provider (pulumi-resource-docker-build) needs a BuildKit builder and cannot start one here (no Docker Hub); run scripts/setup-pulumi.sh first"
    note "no buildkitd (run scripts/setup-pulumi.sh first)"; return
  fi
  local t config=$STATE_DIR/buildkitd.toml sock=${BUILDKIT_ADDR#unix://} wanted
  wanted=$(mktemp)
  # BuildKit would talk plain HTTP to the TLS registry were it addressed as 127.0.0.1 (see TLS_REGISTRY_NAME);
  # http = false keeps it on HTTPS whatever the name resolves to.
  printf '[registry."%s"]\n  http = true\n[registry."%s"]\n  http = false\n  ca = ["%s"]\n' \
    "$REGISTRY_ADDR" "$TLS_REGISTRY_ADDR" "$REGISTRY_TLS_DIR/ca.crt" >"$wanted"
  if buildkitd_answers; then
    if [[ -f $config ]] && cmp -s "$config" "$wanted"; then
      rm -f "$wanted"; note "buildkitd found"; buildkitd_ready=true; return
    fi
    if [[ ! -f $STATE_DIR/buildkitd.pid ]]; then
      rm -f "$wanted"
      warn "a buildkitd this script did not start answers on $BUILDKIT_ADDR; make sure its config trusts $REGISTRY_TLS_DIR/ca.crt for $TLS_REGISTRY_ADDR"
      note "buildkitd found (not ours)"; buildkitd_ready=true; return
    fi
    stop_recorded buildkitd buildkitd   # started with an older config
  fi
  command -v runc >/dev/null || die "buildkitd's OCI worker needs runc on PATH (Debian's docker.io package brings it)"
  t=$(now)
  mv "$wanted" "$config"
  chmod 0644 "$config"
  mkdir -p "$(dirname "$sock")" "$BUILDKIT_ROOT"
  setsid nohup buildkitd --config "$config" --addr "$BUILDKIT_ADDR" --root "$BUILDKIT_ROOT" \
    --oci-worker=true --containerd-worker=false >>"$LOG_DIR/buildkitd.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE_DIR/buildkitd.pid"
  local i
  for i in $(seq 60); do
    buildkitd_answers && { note "buildkitd started ($(since "$t"))"; buildkitd_ready=true; return; }
    sleep 0.5
  done
  die "buildkitd did not answer on $BUILDKIT_ADDR within 30s; see $LOG_DIR/buildkitd.log"
}

# The buildx builder the provider finds: driver remote at our socket. Only a builder of that name is
# ever replaced (when it points elsewhere); others are reported, since the provider takes the current
# builder, else the first reachable one in name order, and a stale one would win.
ensure_builder() {
  if ! docker buildx version >/dev/null 2>&1; then
    warn "the docker CLI has no buildx plugin, so no builder for the real docker-build provider; run scripts/setup-pulumi.sh first"
    note "no buildx plugin"; return
  fi
  local info t; t=$(now)
  info=$(timeout 20 docker buildx inspect --bootstrap "$BUILDER" 2>/dev/null || true)
  if grep -Eq '^Driver: +remote$' <<<"$info" && grep -Eq "^Endpoint: +$BUILDKIT_ADDR\$" <<<"$info" &&
    grep -Eq '^Status: +running$' <<<"$info"; then
    note "builder $BUILDER ok"
  else
    [[ -n $info ]] && docker buildx rm "$BUILDER" >>"$LOG_DIR/buildkitd.log" 2>&1
    docker buildx create --name "$BUILDER" --driver remote "$BUILDKIT_ADDR" >>"$LOG_DIR/buildkitd.log" 2>&1 ||
      die "docker buildx create --name $BUILDER failed; see $LOG_DIR/buildkitd.log"
    timeout 20 docker buildx inspect --bootstrap "$BUILDER" 2>/dev/null | grep -Eq '^Status: +running$' ||
      die "builder $BUILDER does not run (docker buildx inspect $BUILDER); see $LOG_DIR/buildkitd.log"
    note "builder $BUILDER created ($(since "$t"))"
  fi
  local dir=${BUILDX_CONFIG:-${DOCKER_CONFIG:-$HOME/.docker}/buildx} f name driver current=""
  [[ -r $dir/current ]] && current=$(jq -r '.Name // empty' "$dir/current" 2>/dev/null || true)
  for f in "$dir"/instances/*; do
    [[ -f $f ]] || continue
    name=$(jq -r '.Name // empty' "$f" 2>/dev/null) driver=$(jq -r '.Driver // empty' "$f" 2>/dev/null)
    [[ $name != "$BUILDER" && $driver =~ ^(docker-container|kubernetes|remote)$ ]] || continue
    if [[ $name == "$current" || $name < $BUILDER ]]; then
      warn "buildx builder '$name' ($driver) comes before '$BUILDER' for the docker-build provider (it takes the current builder, else the first reachable in name order); if it is a leftover, remove it: docker buildx rm $name"
    fi
  done
}

# The builder pulls base images from the loopback registry: push the local ones there when it lacks
# them or holds another digest (compared with the digest the engine recorded at the last push).
ensure_registry_images() {
  local tag remote repo digest have pushed=()
  for tag in "$SLIM_IMAGE" "$NODE_IMAGE" "$SLIM_IMAGE-arm64" "$NODE_IMAGE-arm64"; do
    docker image inspect "$tag" >/dev/null 2>&1 || continue
    remote=$REGISTRY_ADDR/$tag repo=${tag%:*}
    have=$(curl -fsSI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
      -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
      "http://$REGISTRY_ADDR/v2/$repo/manifests/${tag##*:}" 2>/dev/null |
      tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }') || have=""   # 404: not there
    digest=$(docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$tag" |
      awk -v r="$REGISTRY_ADDR/$repo@" 'index($0, r) == 1 { print substr($0, length(r) + 1) }')
    [[ -n $have ]] && grep -qxF "$have" <<<"$digest" && continue
    docker tag "$tag" "$remote"
    docker push -q "$remote" >>"$LOG_DIR/base-images.log" 2>&1 || die "pushing $remote failed; see $LOG_DIR/base-images.log"
    pushed+=("$remote")
  done
  if ((${#pushed[@]})); then note "pushed ${pushed[*]}"; else note "registry has the base images"; fi
}

# Prints "<digest> <size> <mediaType> <os>/<architecture>[/<variant>]" of a manifest in the base-image
# registry (the platform read from its config blob, not trusted from a tag name).
manifest_entry() {
  local repo=$1 ref=$2 file config digest platform
  file=$(mktemp)
  curl -fsS -o "$file" -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REGISTRY_ADDR/v2/$repo/manifests/$ref" || { rm -f "$file"; return 1; }
  digest=$(jq -r '.config.digest // empty' "$file")
  [[ -n $digest ]] || { rm -f "$file"; return 1; }   # a list already, or no image manifest
  platform=$(curl -fsS "http://$REGISTRY_ADDR/v2/$repo/blobs/$digest" | jq -r '[.os, .architecture, (.variant // empty)] | join("/")') ||
    { rm -f "$file"; return 1; }
  echo "sha256:$(sha256sum "$file" | cut -d' ' -f1) $(stat -c %s "$file") $(jq -r .mediaType "$file") $platform"
  rm -f "$file"
}

# With the arm64 bases built (--arm64), publishes amd64+arm64 lists of the base images in the base-image
# registry, $REGISTRY_ADDR/<image>$MULTIARCH_SUFFIX, so each platform of a multi-arch build starts from a
# base of its own architecture. The list is written by hand (registry API): its bytes, and so its
# digest, depend only on the two manifests, so a rerun changes nothing.
ensure_base_lists() {
  local tag ref repo list file entries entry have wanted published=()
  for tag in "$SLIM_IMAGE" "$NODE_IMAGE"; do
    docker image inspect "$tag-arm64" >/dev/null 2>&1 || continue
    repo=${tag%:*} list=${tag##*:}$MULTIARCH_SUFFIX entries=()
    for ref in "${tag##*:}" "${tag##*:}-arm64"; do
      entry=$(manifest_entry "$repo" "$ref") || die "reading $REGISTRY_ADDR/$repo:$ref failed; is it pushed?"
      entries+=("$entry")
    done
    [[ ${entries[0]##* } == linux/amd64 && ${entries[1]##* } == linux/arm64* ]] ||
      die "$REGISTRY_ADDR/$repo: ${tag##*:} is ${entries[0]##* } and ${tag##*:}-arm64 is ${entries[1]##* }; expected linux/amd64 and linux/arm64"
    file=$(mktemp)
    printf '%s\n' "${entries[@]}" | jq -R -s -c '{
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
      manifests: [split("\n")[] | select(length > 0) | split(" ") | {
        mediaType: .[2], size: (.[1] | tonumber), digest: .[0],
        platform: (.[3] | split("/") | {os: .[0], architecture: .[1]} + (if .[2] then {variant: .[2]} else {} end))
      }]
    }' | tr -d '\n' >"$file"
    wanted="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
    have=$(curl -fsSI -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
      "http://$REGISTRY_ADDR/v2/$repo/manifests/$list" 2>/dev/null |
      tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }') || have=""
    if [[ $have != "$wanted" ]]; then
      curl -fsS -X PUT -H 'Content-Type: application/vnd.docker.distribution.manifest.list.v2+json' \
        --data-binary "@$file" "http://$REGISTRY_ADDR/v2/$repo/manifests/$list" >>"$LOG_DIR/base-images.log" 2>&1 ||
        die "publishing $REGISTRY_ADDR/$repo:$list failed; see $LOG_DIR/base-images.log"
      published+=("$REGISTRY_ADDR/$repo:$list")
    fi
    rm -f "$file"
  done
  if ((${#published[@]})); then note "published ${published[*]} (amd64+arm64)"; fi
}

# shellcheck source=scripts/remote-engine.sh
source "$(dirname "${BASH_SOURCE[0]}")/remote-engine.sh"

main() {
  local arm64=false stop=false restart=false podman=false remote=false arg
  for arg in "$@"; do
    case $arg in
      --arm64) arm64=true ;;
      --stop) stop=true ;;
      --restart-dockerd) restart=true ;;
      --podman) podman=true ;;
      --remote) remote=true ;;
      *) die "unknown argument '$arg'; use --arm64, --podman, --remote, --stop or --restart-dockerd" ;;
    esac
  done
  ((EUID == 0)) || die "must run as root (it installs packages and starts dockerd); try: sudo $0"
  mkdir -p "$STATE_DIR" "$CACHE_DIR" "$LOG_DIR"
  # Daemons started below close fd 9, or they would hold the lock for their whole life.
  exec 9>"$STATE_DIR/lock"
  flock -w 900 9 || die "another setup-engine.sh holds $STATE_DIR/lock"
  local start; start=$(now)
  if $restart; then
    restart_dockerd
  elif $stop; then
    stop_podman
    stop_remote_engine
    stop_recorded buildkitd buildkitd
    stop_recorded registry-tls docker-registry
    stop_recorded registry docker-registry
    stop_recorded dockerd dockerd
  else
    ensure_packages "${PACKAGES[@]}"
    ensure_dockerd
    ensure_runsc
    ensure_binfmt
    local native; native=$(dpkg --print-architecture)
    ensure_slim_image "$native" "$SLIM_IMAGE"
    ensure_node_image "$native" "$SLIM_IMAGE" "$NODE_IMAGE"
    if $arm64 && [[ $native != arm64 ]]; then
      ensure_slim_image arm64 "$SLIM_IMAGE-arm64"
      ensure_node_image arm64 "$SLIM_IMAGE-arm64" "$NODE_IMAGE-arm64"
    fi
    ensure_registry
    ensure_registry_images
    ensure_base_lists
    ensure_tls_registry
    ensure_buildkitd
    if $buildkitd_ready; then ensure_builder; fi
    if $podman; then ensure_podman; fi
    if $remote; then ensure_remote_engine; fi
  fi
  local joined; joined=$(printf '%s; ' "${summary[@]}")
  echo "setup-engine: ${joined}total $(since "$start")"
}

main "$@"
