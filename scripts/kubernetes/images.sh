# The cluster's own images (pause and CoreDNS): one static binary each, written as an OCI image layout
# and imported into the node's containerd, so the node needs no registry to become Ready. Sourced by
# scripts/setup-kubernetes.sh.

# Writes a blob into an OCI layout and prints its descriptor fields "<digest> <size>".
oci_blob() { # layout file
  local digest size
  digest=$(sha256sum "$2" | cut -d' ' -f1)
  size=$(stat -c %s "$2")
  mv "$2" "$1/blobs/sha256/$digest"
  echo "sha256:$digest $size"
}

# An image of one binary at /<name>, run as an unprivileged user, as an OCI layout tar at <out>.
single_binary_image() { # binary reference entrypoint-args-json user out
  local binary=$1 ref=$2 args=$3 user=$4 out=$5 dir layer config manifest
  dir=$(mktemp -d)
  mkdir -p "$dir/layout/blobs/sha256" "$dir/root"
  install -m 755 "$binary" "$dir/root/$(basename "$binary")"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir/root" -cf "$dir/layer.tar" .
  read -r layer layer_size <<<"$(oci_blob "$dir/layout" "$dir/layer.tar")"
  cat >"$dir/config.json" <<JSON
{"architecture":"$(dpkg --print-architecture)","os":"linux","config":{"User":"$user","Entrypoint":["/$(basename "$binary")"],"Cmd":$args},"rootfs":{"type":"layers","diff_ids":["$layer"]}}
JSON
  read -r config config_size <<<"$(oci_blob "$dir/layout" "$dir/config.json")"
  cat >"$dir/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$layer","size":$layer_size}]}
JSON
  read -r manifest manifest_size <<<"$(oci_blob "$dir/layout" "$dir/manifest.json")"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/layout/oci-layout"
  cat >"$dir/layout/index.json" <<JSON
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$manifest","size":$manifest_size,"annotations":{"io.containerd.image.name":"$ref","org.opencontainers.image.ref.name":"$ref"}}]}
JSON
  tar -C "$dir/layout" -cf "$out" .
  rm -rf "$dir"
}

import_system_images() {
  local t tar
  t=$(now)
  tar=$(mktemp)
  single_binary_image "$KUBERNETES_BIN/pause" "$PAUSE_IMAGE" '[]' 65535:65535 "$tar"
  ctr --address "$CONTAINERD_SOCKET" -n k8s.io images import "$tar" >/dev/null || die "could not import $PAUSE_IMAGE"
  single_binary_image "$KUBERNETES_BIN/coredns" "$COREDNS_IMAGE" '[]' 65532:65532 "$tar"
  ctr --address "$CONTAINERD_SOCKET" -n k8s.io images import "$tar" >/dev/null || die "could not import $COREDNS_IMAGE"
  rm -f "$tar"
  note "imported $PAUSE_IMAGE and $COREDNS_IMAGE ($(since "$t"))"
}
