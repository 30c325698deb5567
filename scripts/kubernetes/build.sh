# The local cluster's binaries, built from the Go build modules in this folder (and pause.c, from the
# kubernetes module) into a cache keyed by their inputs. Sourced by scripts/setup-kubernetes.sh, which
# provides log, die, $GO and $KUBERNETES_CACHE_ROOT.

kubernetes_tools=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=pins.env
. "$kubernetes_tools/pins.env"
# shellcheck source=../lib/go-modules.sh
. "$kubernetes_tools/../lib/go-modules.sh"

# name|module folder|package|version the binary reports
kubernetes_binaries=(
  "kube-apiserver|kubernetes|k8s.io/kubernetes/cmd/kube-apiserver|v$KUBERNETES_VERSION"
  "kube-controller-manager|kubernetes|k8s.io/kubernetes/cmd/kube-controller-manager|v$KUBERNETES_VERSION"
  "kube-scheduler|kubernetes|k8s.io/kubernetes/cmd/kube-scheduler|v$KUBERNETES_VERSION"
  "kubelet|kubernetes|k8s.io/kubernetes/cmd/kubelet|v$KUBERNETES_VERSION"
  "kube-proxy|kubernetes|k8s.io/kubernetes/cmd/kube-proxy|v$KUBERNETES_VERSION"
  "kubectl|kubernetes|k8s.io/kubernetes/cmd/kubectl|v$KUBERNETES_VERSION"
  "etcd|etcd|go.etcd.io/etcd/server/v3|$ETCD_VERSION"
  "coredns|coredns|github.com/coredns/coredns|$COREDNS_VERSION"
  "kube-router|kube-router|github.com/cloudnativelabs/kube-router/v2/cmd/kube-router|v$KUBE_ROUTER_VERSION"
  "local-path-provisioner|local-path-provisioner|github.com/rancher/local-path-provisioner|v$LOCAL_PATH_PROVISIONER_VERSION"
  "crictl|cri-tools|sigs.k8s.io/cri-tools/cmd/crictl|v$CRI_TOOLS_VERSION"
)

# The module each folder pins, and the version pins.env gives it.
module_pin() { # folder
  case "$1" in
    kubernetes) echo "k8s.io/kubernetes v$KUBERNETES_VERSION" ;;
    etcd) echo "go.etcd.io/etcd/server/v3 v$ETCD_VERSION" ;;
    coredns) echo "github.com/coredns/coredns v$COREDNS_VERSION" ;;
    kube-router) echo "github.com/cloudnativelabs/kube-router/v2 v$KUBE_ROUTER_VERSION" ;;
    local-path-provisioner) echo "github.com/rancher/local-path-provisioner v$LOCAL_PATH_PROVISIONER_VERSION" ;;
    cri-tools) echo "sigs.k8s.io/cri-tools v$CRI_TOOLS_VERSION" ;;
  esac
}

# Where each program keeps the version it reports, set at link time as upstream's release builds do.
version_ldflags() { # name version
  case "$1" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy|kubectl)
      echo "-X k8s.io/component-base/version.gitVersion=$2 -X k8s.io/client-go/pkg/version.gitVersion=$2" ;;
    etcd) ;;   # etcd's version is a constant of its source
    coredns) ;;  # so is CoreDNS's
    kube-router) echo "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$2" ;;
    local-path-provisioner) echo "-X main.VERSION=$2" ;;
    crictl) echo "-X sigs.k8s.io/cri-tools/pkg/version.Version=$2" ;;
  esac
}

reported_kubernetes_version() { # name bindir
  case "$1" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy) "$2/$1" --version 2>/dev/null | awk '{ print $2 }' ;;
    kubectl) "$2/$1" version --client 2>/dev/null | awk '/^Client Version/ { print $3 }' ;;
    etcd) "$2/$1" --version 2>/dev/null | awk '/^etcd Version/ { print $3 }' ;;
    coredns) "$2/$1" -version 2>/dev/null | awk -F- 'NR == 1 { print $2 }' ;;
    kube-router) "$2/$1" --version 2>&1 | awk '/version/ { print $4 }' | sed 's/,$//' ;;   # "Running <path> version <v>, built on …", on stderr
    crictl) "$2/$1" --version 2>/dev/null | awk '{ print $3 }' ;;
    local-path-provisioner) "$2/$1" --version 2>/dev/null | awk '{ print $3 }' ;;
    pause) "$2/$1" -v 2>/dev/null | awk '{ print $2 }' ;;
  esac
}

# Prints each binary of a cache folder that is missing or reports another version than its pin.
kubernetes_cache_problems() { # dir
  local entry name want have
  for entry in "${kubernetes_binaries[@]}" "pause|||v$PAUSE_VERSION"; do
    IFS='|' read -r name _ _ want <<<"$entry"
    have=$([ -x "$1/bin/$name" ] && reported_kubernetes_version "$name" "$1/bin")
    [ "$have" = "$want" ] || echo "$name reports '${have:-nothing}', pinned $want"
  done
}

kubernetes_cache_complete() { [ -z "$(kubernetes_cache_problems "$1")" ]; }

# The cache key: `go version`, gcc's version, pins.env without comments and every other file here but
# manifests and configuration templates (those are read at start, not built).
kubernetes_build_key() {
  { "$GO" version; gcc --version | head -1
    cd "$kubernetes_tools" && grep -v '^#' pins.env
    find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' -o -name build.sh \) -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
}

# The pause.c of the pinned kubernetes module (from the module cache, downloaded if absent).
pause_source() {
  local dir
  dir=$(cd "$kubernetes_tools/kubernetes" && GOFLAGS=-mod=mod "$GO" mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -f "$dir/build/pause/linux/pause.c" ] || die "k8s.io/kubernetes v$KUBERNETES_VERSION has no build/pause/linux/pause.c"
  echo "$dir/build/pause/linux/pause.c"
}

# Builds every binary into a scratch folder and renames it to $1 once all report their pins.
build_kubernetes_binaries() { # cache dir
  local cache=$1 root work tmp entry name folder pkg version module pin t0
  root=$(dirname "$cache")
  work=$(mktemp -d "$root/.work-XXXXXX")
  tmp=$(mktemp -d "$root/.tmp-XXXXXX")
  # shellcheck disable=SC2064 # the folders are fixed now
  trap "rm -rf '$work' '$tmp'" EXIT
  mkdir -p "$tmp/bin"
  for folder in kubernetes etcd coredns kube-router local-path-provisioner cri-tools; do
    read -r module pin <<<"$(module_pin "$folder")"
    check_pin "$kubernetes_tools/$folder" "$module" "$pin"
    # A scratch copy: the build may add go.sum lines there, never in the repository.
    cp -R "$kubernetes_tools/$folder" "$work/$folder"
  done
  for entry in "${kubernetes_binaries[@]}"; do
    IFS='|' read -r name folder pkg version <<<"$entry"
    t0=$SECONDS
    (cd "$work/$folder" && GOFLAGS=-mod=mod CGO_ENABLED=0 "$GO" build -trimpath \
      -ldflags "-s -w $(version_ldflags "$name" "$version")" -o "$tmp/bin/$name" "$pkg") >&2 ||
      die "could not build $name ($pkg, $folder/go.mod)"
    log "  built $name $version in $((SECONDS - t0)) s ($(du -h "$tmp/bin/$name" | cut -f1))"
  done
  # Static, like upstream's pause image (build/pause/Makefile's CFLAGS).
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION" -o "$tmp/bin/pause" "$(pause_source)" ||
    die "could not build pause"
  log "  built pause v$PAUSE_VERSION"
  local problems; problems=$(kubernetes_cache_problems "$tmp")
  [ -z "$problems" ] || die "built binaries do not report their pins: $problems"
  (cd "$tmp/bin" && for f in *; do printf '%s %s\n' "$f" "$(reported_kubernetes_version "$f" .)"; done) >"$tmp/versions.txt"
  chmod 755 "$tmp"
  rm -rf "$cache"   # only an incomplete leftover can be there
  mv -T "$tmp" "$cache"
  rm -rf "$work"
  trap - EXIT
}

# Prints the bin folder of the cache, building it first when it is absent or incomplete.
ensure_kubernetes_binaries() {
  local key cache t0=$SECONDS
  key=$(kubernetes_build_key)
  cache=$KUBERNETES_CACHE_ROOT/$key
  mkdir -p "$KUBERNETES_CACHE_ROOT"
  exec 8>"$KUBERNETES_CACHE_ROOT/.lock-$key"
  flock -w 3600 8 || die "another setup-kubernetes.sh holds $KUBERNETES_CACHE_ROOT/.lock-$key"
  if kubernetes_cache_complete "$cache"; then
    log "binaries cached in $cache"
  else
    log "building into $cache (go: $("$GO" env GOVERSION), GOCACHE=$("$GO" env GOCACHE))"
    build_kubernetes_binaries "$cache"
    log "built the cluster's binaries in $((SECONDS - t0)) s"
  fi
  exec 8>&-
  echo "$cache/bin"
}
