#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, for the Kubernetes target's live suites and
# for `npm run up` on a developer's own machine: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, a containerd of its own, kubelet, kube-proxy (iptables), the bridge CNI plugin,
# kube-router as the NetworkPolicy engine, CoreDNS, the RuntimeClass "gvisor" and local-path-provisioner
# behind the default StorageClass. Everything is built
# from Go modules (scripts/kubernetes/, versions in scripts/kubernetes/pins.env) into a cache keyed by
# its inputs; certificates and kubeconfigs are made here. Every address is on this machine: the node
# address is a /32 on the loopback device and pod traffic is forwarded within the pods' bridge only.
#
#   scripts/setup-kubernetes.sh                     build what the cache lacks, start the cluster (or
#                                                   check the one an earlier run started) and wait
#                                                   until the node is Ready and CoreDNS answers
#   scripts/setup-kubernetes.sh --print-kubeconfig  print the admin kubeconfig's path (nothing else)
#   scripts/setup-kubernetes.sh --build-only        build what the cache lacks, start nothing, print the
#                                                   folder of the binaries (a cold build: run it with an
#                                                   empty GOCACHE and AGENT_SANDBOX_KUBERNETES_CACHE)
#   scripts/setup-kubernetes.sh --stop              stop the pods and the daemons an earlier run started
#   scripts/setup-kubernetes.sh --reset             --stop, then forget the cluster's state (etcd,
#                                                   certificates, images): the next start is a new cluster
#
# Must run as root, after scripts/setup-pulumi.sh (gVisor's shim) and scripts/setup-engine.sh (the local
# registry 127.0.0.1:5000, which the node pulls workload images from). Docs: docs/kubernetes-cluster.md.
set -euo pipefail

readonly STATE_DIR=/run/agent-sandbox-kubernetes
readonly LOG_DIR=/var/log/agent-sandbox/kubernetes
readonly KUBERNETES_DATA=/var/lib/agent-sandbox-kubernetes
readonly KUBERNETES_CACHE_ROOT=${AGENT_SANDBOX_KUBERNETES_CACHE:-/var/cache/agent-sandbox/kubernetes}
readonly ADMIN_KUBECONFIG=$KUBERNETES_DATA/admin.kubeconfig
readonly NODE_NAME=agent-sandbox-node
readonly NODE_IP=10.243.0.1
readonly APISERVER_PORT=6443
readonly POD_CIDR=10.244.0.0/16
readonly NODE_POD_CIDR=10.244.0.0/24
readonly SERVICE_CIDR=10.96.0.0/16
readonly KUBERNETES_SERVICE_IP=10.96.0.1
readonly CLUSTER_DNS_IP=10.96.0.10
readonly POD_BRIDGE=asbk8s0
readonly FORWARD_CHAIN=AGENT-SANDBOX-K8S
readonly CONTAINERD_SOCKET=$STATE_DIR/containerd/containerd.sock
readonly CNI_CONF_DIR=$KUBERNETES_DATA/cni
readonly CNI_BIN_DIR=/usr/lib/cni
readonly LOCAL_REGISTRY=127.0.0.1:5000
readonly KUBE_ROUTER_HEALTH_PORT=20244
# Where each PersistentVolumeClaim's folder lives, and the image of the helper pods that make and remove
# them (the local registry's Debian base, which setup-engine.sh pushes).
readonly VOLUME_ROOT=$KUBERNETES_DATA/volumes
readonly VOLUME_HELPER_IMAGE=$LOCAL_REGISTRY/agent-sandbox/debian:bookworm-slim
# The node's limit on processes per pod; a pod's own limit cannot be set above it.
readonly POD_PIDS_LIMIT=4096
readonly PACKAGES=(containerd runc containernetworking-plugins conntrack ipset iptables iproute2 openssl curl bind9-dnsutils)
# Components in start order; --stop goes the other way.
readonly DAEMONS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy kube-router local-path-provisioner)

GO=${GO:-go}
command -v "$GO" >/dev/null || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } || true
summary=()
log() { echo "setup-kubernetes: $*" >&2; }
note() { summary+=("$1"); log "$1"; }
warn() { echo "setup-kubernetes: WARNING: $*" >&2; }
die() { echo "setup-kubernetes: ERROR: $*" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/daemons.sh
. "$here/lib/daemons.sh"
# shellcheck source=kubernetes/build.sh
. "$here/kubernetes/build.sh"
# shellcheck source=kubernetes/pki.sh
. "$here/kubernetes/pki.sh"
# shellcheck source=kubernetes/node.sh
. "$here/kubernetes/node.sh"
# shellcheck source=kubernetes/images.sh
. "$here/kubernetes/images.sh"
readonly PAUSE_IMAGE=agent-sandbox.local/pause:$PAUSE_VERSION
readonly COREDNS_IMAGE=agent-sandbox.local/coredns:$COREDNS_VERSION

# gVisor's containerd shim and runsc, linked into /usr/local/bin by setup-pulumi.sh.
check_gvisor() {
  command -v containerd-shim-runsc-v1 >/dev/null && command -v runsc >/dev/null ||
    die "gVisor's containerd-shim-runsc-v1 and runsc are not on PATH: run scripts/setup-pulumi.sh first (the RuntimeClass gvisor needs them)"
}

# True when every daemon an earlier run recorded still runs.
cluster_running() {
  local name pid
  for name in "${DAEMONS[@]}"; do
    [[ -f $STATE_DIR/$name.pid ]] || return 1
    pid=$(<"$STATE_DIR/$name.pid")
    [[ -d /proc/$pid ]] || return 1
  done
}

apply_manifests() {
  local t; t=$(now)
  sed -e "s|IMAGE|$COREDNS_IMAGE|" -e "s|CLUSTER_DNS_IP|$CLUSTER_DNS_IP|" "$here/kubernetes/manifests/coredns.yaml" |
    admin_kubectl apply --server-side --force-conflicts -f - >/dev/null
  sed "s|HELPER_IMAGE|$VOLUME_HELPER_IMAGE|" "$here/kubernetes/manifests/local-path-storage.yaml" |
    admin_kubectl apply --server-side --force-conflicts -f - >/dev/null
  admin_kubectl apply --server-side --force-conflicts -f "$here/kubernetes/manifests/kube-router.yaml" \
    -f "$here/kubernetes/manifests/runtime-class.yaml" >/dev/null
  note "applied CoreDNS, the RuntimeClass gvisor, the StorageClass local-path and the components' roles ($(since "$t"))"
}

# Retries a check once a second until it passes or <seconds> have gone by.
poll() { # seconds check...
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do ((SECONDS < deadline)) || return 1; sleep 1; done
}

# The node's Ready condition, posted by the kubelet at or after <epoch>: after a restart the node keeps
# the Ready of its last run until the new kubelet reports.
node_ready_since() { # epoch
  local ready
  ready=$(admin_kubectl get node "$NODE_NAME" -o jsonpath='{range .status.conditions[?(@.type=="Ready")]}{.status} {.lastHeartbeatTime}{end}' 2>/dev/null) || return 1
  [[ ${ready%% *} == True ]] && (($(date -d "${ready#* }" +%s) >= $1))
}

# CoreDNS answers for the API server's Service through the cluster DNS Service (so kube-proxy's rules
# and the pods' bridge work too).
cluster_dns_answers() {
  [[ $(dig +time=1 +tries=1 +short "@$CLUSTER_DNS_IP" kubernetes.default.svc.cluster.local 2>/dev/null) == "$KUBERNETES_SERVICE_IP" ]]
}

wait_ready() { # epoch the kubelet started at
  local t; t=$(now)
  poll 180 node_ready_since "$1" || die "node $NODE_NAME is not Ready; see $LOG_DIR/kubelet.log"
  note "node Ready ($(since "$t"))"
  t=$(now)
  poll 180 cluster_dns_answers ||
    die "CoreDNS does not answer on $CLUSTER_DNS_IP; see: kubectl --kubeconfig $ADMIN_KUBECONFIG -n kube-system describe pods"
  note "CoreDNS answers ($(since "$t"))"
}

# kubectl on PATH for the admin, unless a kubectl that is not ours is there.
link_kubectl() {
  local target=/usr/local/bin/kubectl
  if [[ -e $target || -L $target ]] && [[ $(readlink "$target" || true) != "$KUBERNETES_CACHE_ROOT"/* ]]; then
    note "left $target alone (not ours): use $KUBERNETES_BIN/kubectl"
    return
  fi
  ln -sfn "$KUBERNETES_BIN/kubectl" "$target"
}

start_cluster() {
  ensure_packages "${PACKAGES[@]}"
  check_gvisor
  local t; t=$(now)
  KUBERNETES_BIN=$(ensure_kubernetes_binaries)
  note "binaries ready ($(since "$t")): $KUBERNETES_BIN"
  echo "$KUBERNETES_BIN" >"$STATE_DIR/bin"   # for --stop, even when a start below fails
  link_kubectl
  local kubelet_started=0
  if cluster_running; then
    note "cluster already running"
  else
    # What an interrupted or failed start left running would hold the ports the new one needs.
    if ls "$STATE_DIR"/*.pid >/dev/null 2>&1; then stop_cluster; fi
    echo "$KUBERNETES_BIN" >"$STATE_DIR/bin"
    mkdir -p "$KUBERNETES_DATA"
    chmod 700 "$KUBERNETES_DATA"
    ensure_node_address
    ensure_pod_forwarding
    ensure_pki
    write_node_configuration
    start_control_plane
    apply_manifests
    kubelet_started=$(date +%s)
    start_node
  fi
  wait_ready "$kubelet_started"
}

# Stops the pods through the runtime first, so the CNI plugin releases their addresses and network
# namespaces, then the daemons, then the rules kubelet, kube-proxy and kube-router wrote.
stop_cluster() {
  local bin i name
  bin=$(cat "$STATE_DIR/bin" 2>/dev/null || true)
  # Without the record no cluster of ours runs here (or the machine restarted): touch nothing.
  [[ -n $bin ]] || { note "no cluster started by this script"; return; }
  if [[ -S $CONTAINERD_SOCKET ]]; then
    stop_recorded kubelet kubelet
    "$bin/crictl" --runtime-endpoint "unix://$CONTAINERD_SOCKET" rmp --all --force >/dev/null 2>&1 || warn "crictl could not remove every pod"
  fi
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
    name=${DAEMONS[i]}
    [[ $name == kubelet && ! -f $STATE_DIR/kubelet.pid ]] || stop_recorded "$name" "$name"
  done
  "$bin/kube-proxy" --cleanup >/dev/null 2>&1 || true
  remove_kube_rules
  # The pods' volumes (service account tokens are tmpfs mounts) and the bind mount kubelet makes of its folder.
  grep -o " $KUBERNETES_DATA/kubelet[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  ip link del "$POD_BRIDGE" 2>/dev/null || true
  remove_pod_forwarding
  restore_kernel_settings
  ip addr del "$NODE_IP/32" dev lo 2>/dev/null || true
  rm -f "$STATE_DIR/bin"
}

main() {
  local mode=start arg
  for arg in "$@"; do
    case $arg in
      --print-kubeconfig) mode=print ;;
      --build-only) mode=build ;;
      --stop) mode=stop ;;
      --reset) mode=reset ;;
      -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
      *) die "unknown argument '$arg'; use --print-kubeconfig, --build-only, --stop or --reset" ;;
    esac
  done
  if [[ $mode == print ]]; then echo "$ADMIN_KUBECONFIG"; return; fi
  if [[ $mode == build ]]; then ensure_kubernetes_binaries; return; fi
  ((EUID == 0)) || die "must run as root (it starts the node's daemons and writes iptables rules); try: sudo $0"
  mkdir -p "$STATE_DIR" "$LOG_DIR"
  exec 9>"$STATE_DIR/lock"
  flock -w 900 9 || die "another setup-kubernetes.sh holds $STATE_DIR/lock"
  local start; start=$(now)
  case $mode in
    start) start_cluster ;;
    stop) stop_cluster ;;
    reset) stop_cluster; rm -rf "$KUBERNETES_DATA"; note "forgot the cluster's state" ;;
  esac
  local joined; joined=$(printf '%s; ' "${summary[@]}")
  echo "setup-kubernetes: ${joined}total $(since "$start")"
  [[ $mode == start ]] && echo "setup-kubernetes: export KUBECONFIG=$ADMIN_KUBECONFIG (kubectl: /usr/local/bin/kubectl)"
  return 0
}

main "$@"
