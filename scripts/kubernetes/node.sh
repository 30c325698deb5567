# The local cluster's configuration files and components, started without an init system. Sourced by
# scripts/setup-kubernetes.sh, which provides the addresses, folders, log, note, die and start_daemon.

# The node address lives on the loopback device as a /32: pods reach it through their bridge's gateway,
# and nothing of the cluster listens on an address another machine could reach.
ensure_node_address() {
  ip -4 addr show dev lo | grep -q " $NODE_IP/32 " || ip addr add "$NODE_IP/32" dev lo
  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
}

# Pod traffic is forwarded within the pods' bridge only (the NetworkPolicy engine's chains come first);
# it never leaves for another interface, so the cluster stays on this machine.
ensure_pod_forwarding() {
  iptables -w -N "$FORWARD_CHAIN" 2>/dev/null || iptables -w -F "$FORWARD_CHAIN"
  iptables -w -A "$FORWARD_CHAIN" -i "$POD_BRIDGE" -o "$POD_BRIDGE" -j ACCEPT
  iptables -w -A "$FORWARD_CHAIN" -o "$POD_BRIDGE" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  iptables -w -A "$FORWARD_CHAIN" -i "$POD_BRIDGE" -j DROP
  iptables -w -C FORWARD -j "$FORWARD_CHAIN" 2>/dev/null || iptables -w -I FORWARD -j "$FORWARD_CHAIN"
}

# The kernel settings kubelet sets on start (its kernel tunables): saved before it first starts and put
# back by --stop, so the host's other work runs with its own values again (vm.overcommit_memory=1 left
# behind changed how gVisor sandboxes die at their memory limit).
readonly KUBELET_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

save_kernel_settings() {
  [[ -f $STATE_DIR/sysctl.saved ]] || sysctl "${KUBELET_SYSCTLS[@]}" | sed 's/ = /=/' >"$STATE_DIR/sysctl.saved"
}

restore_kernel_settings() {
  [[ -f $STATE_DIR/sysctl.saved ]] || return 0
  xargs -r sysctl -qw <"$STATE_DIR/sysctl.saved" || warn "could not restore every kernel setting of $STATE_DIR/sysctl.saved"
  rm -f "$STATE_DIR/sysctl.saved"
}

remove_pod_forwarding() {
  while iptables -w -D FORWARD -j "$FORWARD_CHAIN" 2>/dev/null; do :; done
  iptables -w -F "$FORWARD_CHAIN" 2>/dev/null && iptables -w -X "$FORWARD_CHAIN" 2>/dev/null || true
}

# The chains and sets kubelet, kube-proxy and kube-router wrote (all named KUBE-*), with the rules of other
# chains that jump to them. kube-router's own --cleanup-config also tears down its service proxy, which we
# never ran, and crashes there (v2.1.0) before it removes its chains.
remove_kube_rules() {
  local table rule rules chain chains
  for table in filter nat mangle raw; do
    chains=$(iptables -w -t "$table" -S | awk '$1 == "-N" && $2 ~ /^KUBE-/ { print $2 }')
    rules=$(iptables -w -t "$table" -S | awk '$1 == "-A" && $2 !~ /^KUBE-/ && / -j KUBE-/')
    while read -r rule; do
      [[ -n $rule ]] && eval "iptables -w -t $table -D ${rule#-A }"
    done <<<"$rules"
    for chain in $chains; do iptables -w -t "$table" -F "$chain"; done
    for chain in $chains; do iptables -w -t "$table" -X "$chain"; done
  done
  ipset list -n 2>/dev/null | grep '^KUBE-' | xargs -r -n1 ipset destroy 2>/dev/null || true
}

write_node_configuration() {
  local pki=$KUBERNETES_DATA/pki
  mkdir -p "$CNI_CONF_DIR" "$STATE_DIR/containerd"
  cat >"$CNI_CONF_DIR/10-agent-sandbox.conflist" <<CNI
{
  "cniVersion": "1.0.0",
  "name": "agent-sandbox",
  "plugins": [
    {
      "type": "bridge", "bridge": "$POD_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$NODE_POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
CNI
  # containerd of our own: socket, root and state apart from any other containerd (a dockerd that starts
  # while /run/containerd/containerd.sock exists would adopt that one).
  cat >"$KUBERNETES_DATA/containerd.toml" <<TOML
version = 2
root = "$KUBERNETES_DATA/containerd"
state = "$STATE_DIR/containerd"
[grpc]
  address = "$CONTAINERD_SOCKET"
[plugins."io.containerd.internal.v1.opt"]
  path = "$KUBERNETES_DATA/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Pod sandboxes ask for oom_score_adj -998 (guaranteed pods -997): no lower than containerd's own, as
  # a host without CAP_SYS_RESOURCE (like these machines) refuses to lower it and every sandbox fails.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$STATE_DIR/runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]
      runtime_type = "io.containerd.runsc.v1"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc.options]
        TypeUrl = "io.containerd.runsc.v1.options"
        ConfigPath = "$KUBERNETES_DATA/runsc.toml"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CNI_CONF_DIR"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$LOCAL_REGISTRY"]
    endpoint = ["http://$LOCAL_REGISTRY"]
TOML
  # The same platform and seccomp handling as dockerd's runsc (scripts/setup-engine.sh, RUNSC_ARGS).
  cat >"$KUBERNETES_DATA/runsc.toml" <<TOML
[runsc_config]
  platform = "systrap"
  oci-seccomp = "true"
TOML
  mkdir -p "$VOLUME_ROOT"
  cat >"$KUBERNETES_DATA/local-path-provisioner.json" <<JSON
{ "nodePathMap": [{ "node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": ["$VOLUME_ROOT"] }] }
JSON
  # Pods that ask for the node's DNS get none: nothing of the cluster resolves names off this machine.
  echo "nameserver 127.0.0.1" >"$KUBERNETES_DATA/resolv.conf"
  cat >"$KUBERNETES_DATA/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $pki/ca.crt }
authorization: { mode: Webhook }
tlsCertFile: $pki/kubelet-server.crt
tlsPrivateKeyFile: $pki/kubelet-server.key
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CONTAINERD_SOCKET
clusterDomain: cluster.local
clusterDNS: [$CLUSTER_DNS_IP]
resolvConf: $KUBERNETES_DATA/resolv.conf
failSwapOn: false
podPidsLimit: $POD_PIDS_LIMIT
# This host's disk is shared with Docker's images: evict only when it is nearly full, and never
# garbage-collect the images setup-kubernetes.sh imported.
evictionHard: { memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1% }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
YAML
  cat >"$KUBERNETES_DATA/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: $KUBERNETES_DATA/kube-proxy.kubeconfig }
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [$NODE_IP/32]
# Leave the host's conntrack settings as they are (Docker shares them).
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
YAML
}

etcd_answers() {
  curl -sf --cacert "$KUBERNETES_DATA/pki/ca.crt" --cert "$KUBERNETES_DATA/pki/apiserver-etcd-client.crt" \
    --key "$KUBERNETES_DATA/pki/apiserver-etcd-client.key" https://127.0.0.1:2379/health >/dev/null
}
admin_kubectl() { "$KUBERNETES_BIN/kubectl" --kubeconfig "$KUBERNETES_DATA/admin.kubeconfig" "$@"; }
apiserver_ready() { admin_kubectl get --raw /readyz >/dev/null 2>&1; }
healthz_answers() { curl -skf "$1" >/dev/null; }
controller_manager_answers() { healthz_answers https://127.0.0.1:10257/healthz; }
scheduler_answers() { healthz_answers https://127.0.0.1:10259/healthz; }
kubelet_answers() { healthz_answers http://127.0.0.1:10248/healthz; }
kube_proxy_answers() { healthz_answers http://127.0.0.1:10256/livez; }
kube_router_answers() { healthz_answers "http://127.0.0.1:$KUBE_ROUTER_HEALTH_PORT/healthz"; }
# It serves no health endpoint: it has started once its controller runs (it logs that).
local_path_provisioner_answers() { grep -q "Starting provisioner controller" "$LOG_DIR/local-path-provisioner.log" 2>/dev/null; }
containerd_answers() { ctr --address "$CONTAINERD_SOCKET" version >/dev/null 2>&1; }

start_control_plane() {
  local pki=$KUBERNETES_DATA/pki bin=$KUBERNETES_BIN
  start_daemon etcd etcd_answers 60 0.5 "$bin/etcd" --name "$NODE_NAME" --data-dir "$KUBERNETES_DATA/etcd" \
    --listen-client-urls https://127.0.0.1:2379 --advertise-client-urls https://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster "$NODE_NAME=http://127.0.0.1:2380" --listen-metrics-urls "" \
    --cert-file "$pki/etcd-server.crt" --key-file "$pki/etcd-server.key" \
    --client-cert-auth --trusted-ca-file "$pki/ca.crt"
  start_daemon kube-apiserver apiserver_ready 120 0.5 "$bin/kube-apiserver" \
    --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$APISERVER_PORT" \
    --etcd-servers https://127.0.0.1:2379 --etcd-cafile "$pki/ca.crt" \
    --etcd-certfile "$pki/apiserver-etcd-client.crt" --etcd-keyfile "$pki/apiserver-etcd-client.key" \
    --client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/service-accounts.pub" --service-account-signing-key-file "$pki/service-accounts.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction --anonymous-auth=false --profiling=false --allow-privileged=false
  start_daemon kube-controller-manager controller_manager_answers 60 0.5 "$bin/kube-controller-manager" \
    --kubeconfig "$KUBERNETES_DATA/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$KUBERNETES_DATA/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "$KUBERNETES_DATA/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false \
    --root-ca-file "$pki/ca.crt" --service-account-private-key-file "$pki/service-accounts.key" \
    --use-service-account-credentials --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --allocate-node-cidrs --cluster-cidr "$POD_CIDR" --node-cidr-mask-size 24 --service-cluster-ip-range "$SERVICE_CIDR"
  start_daemon kube-scheduler scheduler_answers 60 0.5 "$bin/kube-scheduler" \
    --kubeconfig "$KUBERNETES_DATA/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$KUBERNETES_DATA/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$KUBERNETES_DATA/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false
}

start_node() {
  local bin=$KUBERNETES_BIN
  start_daemon containerd containerd_answers 60 0.5 containerd --config "$KUBERNETES_DATA/containerd.toml"
  import_system_images
  save_kernel_settings
  start_daemon kubelet kubelet_answers 120 0.5 "$bin/kubelet" --config "$KUBERNETES_DATA/kubelet.yaml" \
    --kubeconfig "$KUBERNETES_DATA/kubelet.kubeconfig" --root-dir "$KUBERNETES_DATA/kubelet" \
    --node-ip "$NODE_IP" --hostname-override "$NODE_NAME"
  start_daemon kube-proxy kube_proxy_answers 60 0.5 "$bin/kube-proxy" --config "$KUBERNETES_DATA/kube-proxy.yaml"
  start_daemon kube-router kube_router_answers 60 0.5 "$bin/kube-router" \
    --kubeconfig "$KUBERNETES_DATA/kube-router.kubeconfig" --hostname-override "$NODE_NAME" \
    --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
    --service-cluster-ip-range "$SERVICE_CIDR" --health-port "$KUBE_ROUTER_HEALTH_PORT" --metrics-port 0
  : >"$LOG_DIR/local-path-provisioner.log"   # its check reads this run's lines only
  start_daemon local-path-provisioner local_path_provisioner_answers 60 0.5 "$bin/local-path-provisioner" start \
    --kubeconfig "$KUBERNETES_DATA/local-path-provisioner.kubeconfig" --config "$KUBERNETES_DATA/local-path-provisioner.json" \
    --namespace local-path-storage --configmap-name local-path-config --service-account-name local-path-helper \
    --helper-image "$VOLUME_HELPER_IMAGE"
}
