# The local cluster's certificates and kubeconfigs: one CA of our own, a key and certificate per
# component, made once and kept under $KUBERNETES_DATA/pki (readable by root only). Sourced by
# scripts/setup-kubernetes.sh, which provides log, die and the cluster's addresses.

pki_dir() { echo "$KUBERNETES_DATA/pki"; }

# A key and a certificate signed by the cluster CA; nothing happens when both exist.
issue_certificate() { # name subject [subjectAltName] [extendedKeyUsage]
  local dir name=$1 subject=$2 san=${3:-} usage=${4:-clientAuth} ext
  dir=$(pki_dir)
  [[ -s $dir/$name.crt && -s $dir/$name.key ]] && return
  ext=$(mktemp)
  { echo "basicConstraints = critical, CA:FALSE"
    echo "keyUsage = critical, digitalSignature, keyEncipherment"
    echo "extendedKeyUsage = $usage"
    [[ -n $san ]] && echo "subjectAltName = $san"
  } >"$ext"
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$name.key" 2>/dev/null
  openssl req -new -key "$dir/$name.key" -subj "$subject" 2>/dev/null |
    openssl x509 -req -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 3650 \
      -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null || die "could not issue the certificate $name"
  rm -f "$ext"
}

# A kubeconfig for one identity, talking to the API server on the node address.
write_kubeconfig() { # name (a certificate of the same name)
  local dir file
  dir=$(pki_dir)
  file=$KUBERNETES_DATA/$1.kubeconfig
  cat >"$file.tmp" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: agent-sandbox
    cluster:
      server: https://$NODE_IP:$APISERVER_PORT
      certificate-authority: $dir/ca.crt
users:
  - name: $1
    user:
      client-certificate: $dir/$1.crt
      client-key: $dir/$1.key
contexts:
  - name: agent-sandbox
    context: { cluster: agent-sandbox, user: $1 }
current-context: agent-sandbox
KUBECONFIG
  chmod 600 "$file.tmp"
  mv "$file.tmp" "$file"
}

ensure_pki() {
  local dir
  dir=$(pki_dir)
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [[ ! -s $dir/ca.crt || ! -s $dir/ca.key ]]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$dir/ca.key" -subj "/CN=agent-sandbox-kubernetes-ca" -days 3650 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$dir/ca.crt" 2>/dev/null || die "could not make the cluster CA"
  fi
  # The service account token signer (the API server verifies with the public half).
  [[ -s $dir/service-accounts.key ]] || openssl ecparam -name prime256v1 -genkey -noout -out "$dir/service-accounts.key" 2>/dev/null
  openssl ec -in "$dir/service-accounts.key" -pubout -out "$dir/service-accounts.pub" 2>/dev/null
  issue_certificate etcd-server "/CN=etcd-server" "IP:127.0.0.1" "serverAuth"
  issue_certificate apiserver-etcd-client "/CN=kube-apiserver-etcd-client"
  issue_certificate apiserver "/CN=kube-apiserver" \
    "IP:$NODE_IP,IP:127.0.0.1,IP:$KUBERNETES_SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost" \
    "serverAuth"
  issue_certificate apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  issue_certificate kubelet-server "/CN=$NODE_NAME" "IP:$NODE_IP,DNS:$NODE_NAME" "serverAuth"
  issue_certificate admin "/O=system:masters/CN=agent-sandbox-admin"
  issue_certificate kube-controller-manager "/CN=system:kube-controller-manager"
  issue_certificate kube-scheduler "/CN=system:kube-scheduler"
  issue_certificate kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
  issue_certificate kube-proxy "/CN=system:kube-proxy"
  # kube-router's rights come from the ClusterRole in manifests/kube-router.yaml.
  issue_certificate kube-router "/CN=agent-sandbox:kube-router"
  # And local-path-provisioner's from manifests/local-path-storage.yaml.
  issue_certificate local-path-provisioner "/CN=agent-sandbox:local-path-provisioner"
  local name
  for name in admin kube-controller-manager kube-scheduler kubelet kube-proxy kube-router local-path-provisioner; do write_kubeconfig "$name"; done
}
