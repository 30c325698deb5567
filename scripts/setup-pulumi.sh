#!/usr/bin/env bash
# Builds the Pulumi CLI, its Node.js, YAML and Python language hosts and the command, docker-build
# and docker providers from their Go modules, for machines where the official installer cannot
# download a prebuilt CLI (the YAML and Python hosts run programs that consume a component package,
# `pulumi package add`). Users with the official CLI need none of this. It also builds BuildKit (buildkitd,
# buildctl) and the docker-buildx CLI plugin, which scripts/setup-engine.sh turns into the builder
# the docker-build provider needs where it cannot pull moby/buildkit (docs/pulumi-tools.md: "A BuildKit builder for the docker-build provider"),
# and gVisor's runsc and containerd-shim-runsc-v1, the runtime scripts/setup-engine.sh registers with
# dockerd as "runsc" (sandboxes that should run on gVisor's kernel rather than the host's), and the
# Kubernetes provider (pulumi-resource-kubernetes) for stacks on a cluster.
#
#   scripts/setup-pulumi.sh                  build what the cache lacks; as root, link into /usr/local/bin
#                                            and docker-buildx into /usr/local/lib/docker/cli-plugins
#   scripts/setup-pulumi.sh --print-bin-dir  same, but log to stderr and print only the bin directory of
#                                            the Pulumi tools (runsc is for dockerd, which takes a path)
#   scripts/setup-pulumi.sh --no-link        do not touch /usr/local/bin
#
# Versions: scripts/pulumi-tools/pins.env. Build modules: scripts/pulumi-tools/<tool>/go.mod.
# Cache: $AGENT_SANDBOX_PULUMI_CACHE/<key> for the Pulumi tools and BuildKit, and .../gvisor-<key>
# for gVisor, .../kubernetes-<key> for the Kubernetes provider (default /var/cache/agent-sandbox/pulumi
# as root, else ~/.cache/agent-sandbox/pulumi); each key is a hash of `go version` and that group's pins
# and build modules, so a new gVisor pin does not rebuild the Pulumi CLI (20 minutes on 2 cores) nor the
# other way round. A build
# happens in a scratch folder and is renamed into place, so an interrupted run leaves no half cache.
#
# Modules the Go module proxy does not serve are built from a source copy instead; point these at a
# git clone (bare or not: the pinned commit is exported from it) or a plain checkout of that commit:
#   PULUMI_SRC                       pulumi/pulumi (Node.js and Python language hosts, pkg/v3 of the YAML one)
#   PULUMI_COMMAND_SRC               pulumi/pulumi-command
#   PULUMI_DOCKER_SRC                pulumi/pulumi-docker
#   TERRAFORM_PROVIDER_DOCKER_SRC    kreuzwerker/terraform-provider-docker
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools="$here/pulumi-tools"
# shellcheck source=pulumi-tools/pins.env
. "$tools/pins.env"
# shellcheck source=lib/go-modules.sh
. "$here/lib/go-modules.sh"

print_bin_dir=false
link=true
for arg in "$@"; do
  case "$arg" in
    --print-bin-dir) print_bin_dir=true ;;
    --no-link) link=false ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "setup-pulumi: unknown argument $arg" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || link=false

log() { echo "setup-pulumi: $*" >&2; }
die() { log "$*"; exit 1; }

GO=${GO:-go}
command -v "$GO" >/dev/null || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } || die "needs Go (go1.26 or newer: the build modules say go 1.26)"

if [ "$(id -u)" = 0 ]; then default_root=/var/cache/agent-sandbox/pulumi; else default_root="${XDG_CACHE_HOME:-$HOME/.cache}/agent-sandbox/pulumi"; fi
cache_root=$(realpath -m "${AGENT_SANDBOX_PULUMI_CACHE:-$default_root}")
# Three cache keys. Comments of pins.env are left out, so correcting one rebuilds nothing.
#   key             the Pulumi tools and BuildKit: pins.env but its GVISOR_ and KUBERNETES_ lines, every
#                   file but gvisor/ and kubernetes/ (the same bytes the single key hashed before gVisor
#                   came, so caches stay valid)
#   gvisor_key      gVisor: the GVISOR_ lines of pins.env and gvisor/
#   kubernetes_key  the Kubernetes provider: the KUBERNETES_ lines of pins.env and kubernetes/
go_version=$("$GO" version)
key=$( { echo "$go_version"; cd "$tools" && grep -v -e '^#' -e '^GVISOR_' -e '^KUBERNETES_' pins.env && find . -type f ! -name pins.env ! -path './gvisor/*' ! -path './kubernetes/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16)
group_key() { # pins prefix, folder
  { echo "$go_version"; cd "$tools" && grep "^$1" pins.env && find "./$2" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16
}
gvisor_key=$(group_key GVISOR_ gvisor)
kubernetes_key=$(group_key KUBERNETES_ kubernetes)
cache="$cache_root/$key"
bin="$cache/bin"
plugins="$cache/cli-plugins"   # Docker CLI plugins: linked into $plugin_dir, not /usr/local/bin
plugin_dir=/usr/local/lib/docker/cli-plugins
gvisor_cache="$cache_root/gvisor-$gvisor_key"
gvisor_bin="$gvisor_cache/bin"
kubernetes_cache="$cache_root/kubernetes-$kubernetes_key"
kubernetes_bin="$kubernetes_cache/bin"

# name|version the binary must report|ldflags -X variable
binaries=(
  "pulumi|v$PULUMI_VERSION|github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
  "pulumi-language-nodejs|v$PULUMI_VERSION|github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
  "pulumi-language-python|v$PULUMI_VERSION|github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
  "pulumi-language-yaml|v$YAML_VERSION|github.com/pulumi/pulumi-yaml/pkg/version.Version"
  "pulumi-resource-command|$COMMAND_VERSION|github.com/pulumi/pulumi-command/provider/pkg/version.Version"
  "pulumi-resource-docker-build|$DOCKER_BUILD_VERSION|github.com/pulumi/pulumi-docker-build/provider.Version"
  "pulumi-resource-docker|$DOCKER_VERSION|github.com/pulumi/pulumi-docker/provider/v5/pkg/version.Version"
  "buildkitd|v$BUILDKIT_VERSION|github.com/moby/buildkit/version.Version"
  "buildctl|v$BUILDKIT_VERSION|github.com/moby/buildkit/version.Version"
)
# the same, in cli-plugins/
plugin_binaries=(
  "docker-buildx|v$BUILDX_VERSION|github.com/docker/buildx/version.Version"
)
# the same, in the gVisor cache (the shim has no version of its own: see reported_version)
gvisor_binaries=(
  "runsc|$GVISOR_VERSION|gvisor.dev/gvisor/runsc/version.version"
  "containerd-shim-runsc-v1|$GVISOR_VERSION|"
)
# the same, in the Kubernetes provider's cache
kubernetes_binaries=(
  "pulumi-resource-kubernetes|$KUBERNETES_PROVIDER_VERSION|github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version"
)

# The version a binary reports: the CLI and the Node.js and Python language hosts say it; a provider
# or the YAML language host (it has no -version) is started and asked over GetPluginInfo, as the
# engine does, by our plugininfo helper (pulumi-tools/pulumi/plugininfo).
reported_version() { # name bindir
  case "$1" in
    pulumi) "$2/pulumi" version 2>/dev/null ;;
    pulumi-language-nodejs|pulumi-language-python) "$2/$1" -version 2>/dev/null ;;
    pulumi-resource-pulumi-nodejs|pulumi-language-python-exec) echo "(script)" ;;
    # The Kubernetes provider's cache has no plugininfo of its own: the Pulumi tools' one asks (built first).
    pulumi-resource-kubernetes) "$cache/libexec/plugininfo" "$2/$1" 2>/dev/null ;;
    pulumi-resource-*|pulumi-language-yaml) "$2/../libexec/plugininfo" "$2/$1" 2>/dev/null ;;
    buildkitd|buildctl) "$2/$1" --version 2>/dev/null | awk '{ print $3 }' ;;   # "buildkitd <package> <version> <revision>"
    docker-buildx) "$2/$1" version 2>/dev/null | awk '{ print $2 }' ;;          # "<package> <version> <revision>"
    runsc) "$2/$1" --version 2>/dev/null | awk 'NR == 1 { print $3 }' ;;        # "runsc version <version>", "spec: <OCI version>"
    # Its -v prints the containerd library's version: the gVisor module it was built from is asked
    # instead ("mod", the module of its main package, in the build info Go records in the binary).
    containerd-shim-runsc-v1) "$GO" version -m "$2/$1" 2>/dev/null | awk '$1 == "mod" && $2 == "gvisor.dev/gvisor" { print $3 }' ;;
  esac
}

cache_complete() { # dir
  local entry name want
  for entry in "${binaries[@]}"; do
    IFS='|' read -r name want _ <<<"$entry"
    [ -x "$1/bin/$name" ] && [ "$(reported_version "$name" "$1/bin")" = "$want" ] || return 1
  done
  for entry in "${plugin_binaries[@]}"; do
    IFS='|' read -r name want _ <<<"$entry"
    [ -x "$1/cli-plugins/$name" ] && [ "$(reported_version "$name" "$1/cli-plugins")" = "$want" ] || return 1
  done
  [ -x "$1/bin/pulumi-resource-pulumi-nodejs" ] && [ -x "$1/bin/pulumi-language-python-exec" ]
}

# Whether a cache folder has every binary of a list, each reporting its version.
binaries_complete() { # dir entry...
  local dir=$1 entry name want
  shift
  for entry in "$@"; do
    IFS='|' read -r name want _ <<<"$entry"
    [ -x "$dir/bin/$name" ] && [ "$(reported_version "$name" "$dir/bin")" = "$want" ] || return 1
  done
}
gvisor_complete() { binaries_complete "$1" "${gvisor_binaries[@]}"; }
kubernetes_complete() { binaries_complete "$1" "${kubernetes_binaries[@]}"; }

# Lays out the pinned source of a module in $dest: from a git repository or checkout named by the
# environment variable $srcvar if set, else from the module proxy. Returns 1 if neither has it.
get_source() { # dest srcvar commit subdir module version
  local dest=$1 srcvar=$2 commit=$3 subdir=$4 module=$5 version=$6 src dir
  rm -rf "$dest"; mkdir -p "$dest"
  src=${!srcvar:-}
  # Callers write `get_source … || die`, which turns off set -e in here: every step checks itself.
  if [ -n "$src" ]; then
    if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
      git -C "$src" cat-file -e "$commit^{commit}" 2>/dev/null || die "$srcvar=$src is a git repository without commit $commit (a shallow clone?); fetch it there"
      log "  source: $srcvar ($src) at ${commit:0:12}"
      git -C "$src" archive "$commit" -- "${subdir:-.}" ':(exclude,glob)**/testdata/**' | tar -x -C "$dest" || die "could not export $commit from $src"
    elif [ -d "$src/${subdir:-.}" ]; then
      log "  source: $srcvar ($src, a plain tree: trusted to be at ${commit:0:12})"
      { mkdir -p "$dest/$subdir" && cp -R "$src/${subdir:-.}/." "$dest/$subdir"; } || die "could not copy $src"
    else
      die "$srcvar=$src has neither commit $commit nor a $subdir folder"
    fi
    return 0
  fi
  if dir=$(GOFLAGS=-mod=mod "$GO" mod download -json "$module@$version" 2>/dev/null | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p') && [ -n "$dir" ]; then
    log "  source: module $module@$version"
    { mkdir -p "$dest/$subdir" && cp -R "$dir/." "$dest/$subdir" && chmod -R u+w "$dest"; } || die "could not copy $dir"
    return 0
  fi
  return 1
}

served() { GOFLAGS=-mod=mod "$GO" mod download "$1@$2" >/dev/null 2>&1; }

build() { # name moddir package ldflag-var(or "") version [folder in the cache, default bin]
  local name=$1 moddir=$2 pkg=$3 var=$4 version=$5 out=$tmp/${6:-bin}/$1 t0=$SECONDS
  (cd "$moddir" && GOFLAGS=-mod=${mod_mode:-mod} CGO_ENABLED=0 "$GO" build -trimpath \
    -ldflags "-s -w${var:+ -X $var=$version}" -o "$out" "$pkg") >&2
  log "  built $name $version in $((SECONDS - t0)) s ($(du -h "$out" | cut -f1))"
}

# A scratch copy of a build module: the build may add go.sum lines there, never in the repository.
prepare() { rm -rf "${work:?}/$1"; cp -R "$tools/$1" "$work/$1"; }

# Checks a finished scratch build, writes its versions.txt and renames it into place.
install_cache() { # scratch cache complete-function
  "$3" "$1" || die "a built binary does not report its pinned version"
  (cd "$1/bin" && for f in *; do printf '%s %s\n' "$f" "$(reported_version "$f" .)"; done
   if [ -d ../cli-plugins ]; then
     cd ../cli-plugins && for f in *; do printf 'cli-plugins/%s %s\n' "$f" "$(reported_version "$f" .)"; done
   fi) >"$1/versions.txt"
  if "$3" "$2"; then rm -rf "$1"   # another run finished first
  else rm -rf "$2"; chmod 755 "$1"; mv -T "$1" "$2"    # only an incomplete leftover can be at $2
  fi
  trap - EXIT
}

build_all() {
  local work="$cache_root/.work-$key" entry mod
  mkdir -p "$work"
  tmp=$(mktemp -d "$cache_root/.tmp-$key-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT HUP
  trap 'exit 143' TERM
  mkdir -p "$tmp/bin"

  log "pulumi (CLI) v$PULUMI_VERSION"
  check_pin "$tools/pulumi" github.com/pulumi/pulumi/pkg/v3 "v$PULUMI_VERSION"
  prepare pulumi
  build pulumi "$work/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    github.com/pulumi/pulumi/sdk/v3/go/common/version.Version "v$PULUMI_VERSION"
  mkdir -p "$tmp/libexec"
  (cd "$work/pulumi" && GOFLAGS=-mod=mod CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w" -o "$tmp/libexec/plugininfo" ./plugininfo) >&2

  log "pulumi-language-nodejs v$PULUMI_VERSION"
  mod=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
  check_pin "$tools/language-nodejs" $mod "$PULUMI_COMMIT"
  prepare language-nodejs
  if [ -n "${PULUMI_SRC:-}" ] || ! served $mod "$(required_version "$work/language-nodejs" $mod)"; then
    get_source "$work/language-nodejs/src" PULUMI_SRC "$PULUMI_COMMIT" sdk/nodejs/cmd/pulumi-language-nodejs x x ||
      die "the module proxy does not serve $mod; set PULUMI_SRC to a pulumi/pulumi clone or a checkout of $PULUMI_COMMIT"
    (cd "$work/language-nodejs" && "$GO" mod edit -replace "$mod=./src/sdk/nodejs/cmd/pulumi-language-nodejs")
  fi
  build pulumi-language-nodejs "$work/language-nodejs" $mod \
    github.com/pulumi/pulumi/sdk/v3/go/common/version.Version "v$PULUMI_VERSION"

  log "pulumi-language-python v$PULUMI_VERSION"
  mod=github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3
  check_pin "$tools/language-python" $mod "$PULUMI_COMMIT"
  prepare language-python
  # Always a copy: the host runs pulumi-language-python-exec, a Python script beside it that is
  # outside the module (the official distribution ships it next to the host too).
  get_source "$work/language-python/src" PULUMI_SRC "$PULUMI_COMMIT" sdk/python/cmd x x ||
    die "no source for $mod; set PULUMI_SRC to a pulumi/pulumi clone or a checkout of $PULUMI_COMMIT"
  (cd "$work/language-python" && "$GO" mod edit -replace "$mod=./src/sdk/python/cmd/pulumi-language-python")
  build pulumi-language-python "$work/language-python" $mod \
    github.com/pulumi/pulumi/sdk/v3/go/common/version.Version "v$PULUMI_VERSION"
  install -m 755 "$work/language-python/src/sdk/python/cmd/pulumi-language-python-exec" "$tmp/bin/"

  log "pulumi-language-yaml v$YAML_VERSION (pkg/v3 v$YAML_PULUMI_VERSION)"
  check_pin "$tools/language-yaml" github.com/pulumi/pulumi-yaml "v$YAML_VERSION"
  mod=github.com/pulumi/pulumi/pkg/v3
  check_pin "$tools/language-yaml" $mod "v$YAML_PULUMI_VERSION"
  prepare language-yaml
  if [ -n "${PULUMI_SRC:-}" ] || ! served $mod "v$YAML_PULUMI_VERSION"; then
    get_source "$work/language-yaml/src" PULUMI_SRC "$YAML_PULUMI_COMMIT" pkg x x ||
      die "the module proxy does not serve $mod v$YAML_PULUMI_VERSION; set PULUMI_SRC to a pulumi/pulumi clone or a checkout of $YAML_PULUMI_COMMIT"
    (cd "$work/language-yaml" && "$GO" mod edit -replace "$mod=./src/pkg")
  fi
  build pulumi-language-yaml "$work/language-yaml" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml \
    github.com/pulumi/pulumi-yaml/pkg/version.Version "v$YAML_VERSION"

  log "pulumi-resource-command $COMMAND_VERSION"
  mod=github.com/pulumi/pulumi-command/provider
  check_pin "$tools/command" $mod "$COMMAND_COMMIT"
  prepare command
  if [ -n "${PULUMI_COMMAND_SRC:-}" ] || ! served $mod "$(required_version "$work/command" $mod)"; then
    get_source "$work/command/src" PULUMI_COMMAND_SRC "$COMMAND_COMMIT" provider x x ||
      die "the module proxy does not serve $mod; set PULUMI_COMMAND_SRC to a pulumi/pulumi-command clone or a checkout of $COMMAND_COMMIT"
    (cd "$work/command" && "$GO" mod edit -replace "$mod=./src/provider")
  fi
  build pulumi-resource-command "$work/command" $mod/cmd/pulumi-resource-command \
    github.com/pulumi/pulumi-command/provider/pkg/version.Version "$COMMAND_VERSION"

  log "pulumi-resource-docker-build $DOCKER_BUILD_VERSION"
  check_pin "$tools/docker-build" github.com/pulumi/pulumi-docker-build "v$DOCKER_BUILD_VERSION"
  prepare docker-build
  build pulumi-resource-docker-build "$work/docker-build" \
    github.com/pulumi/pulumi-docker-build/provider/cmd/pulumi-resource-docker-build \
    github.com/pulumi/pulumi-docker-build/provider.Version "$DOCKER_BUILD_VERSION"

  log "pulumi-resource-docker $DOCKER_VERSION (source ${DOCKER_COMMIT:0:12})"
  mod=github.com/pulumi/pulumi-docker/provider/v5
  check_pin "$tools/docker" $mod "$DOCKER_COMMIT"
  prepare docker
  # The upstream Terraform provider, plus our shim package that pulumi-docker imports.
  get_source "$work/docker/upstream" TERRAFORM_PROVIDER_DOCKER_SRC "$DOCKER_UPSTREAM_COMMIT" "" \
    github.com/kreuzwerker/terraform-provider-docker "$DOCKER_UPSTREAM_VERSION" ||
    die "no source for kreuzwerker/terraform-provider-docker; set TERRAFORM_PROVIDER_DOCKER_SRC to a clone or a checkout of $DOCKER_UPSTREAM_COMMIT"
  mkdir -p "$work/docker/upstream/shim" && cp "$tools/docker/shim.go.txt" "$work/docker/upstream/shim/shim.go"
  # Always a copy: main.go embeds schema-embed.json, which neither the repository nor the module has.
  get_source "$work/docker/src" PULUMI_DOCKER_SRC "$DOCKER_COMMIT" provider $mod "$(required_version "$work/docker" $mod)" ||
    die "the module proxy does not serve $mod; set PULUMI_DOCKER_SRC to a pulumi/pulumi-docker clone or a checkout of $DOCKER_COMMIT"
  (cd "$work/docker" && "$GO" mod edit -replace "$mod=./src/provider")
  # schema-embed.json is schema.json with the provider's version set (what upstream's generate.go does).
  node -e 'const fs = require("fs"), [dir, version] = process.argv.slice(1);
    const s = JSON.parse(fs.readFileSync(dir + "/schema.json", "utf8")); s.version = version;
    fs.writeFileSync(dir + "/schema-embed.json", JSON.stringify(s));' \
    "$work/docker/src/provider/cmd/pulumi-resource-docker" "$DOCKER_VERSION"
  build pulumi-resource-docker "$work/docker" $mod/cmd/pulumi-resource-docker \
    $mod/pkg/version.Version "$DOCKER_VERSION"

  # BuildKit and buildx: built like upstream's release images (static, CGO off, -s -w), from the
  # module proxy (both are dependencies of pulumi-docker-build, so the proxy has them).
  log "buildkitd, buildctl v$BUILDKIT_VERSION"
  check_pin "$tools/buildkit" github.com/moby/buildkit "v$BUILDKIT_VERSION"
  prepare buildkit
  build buildkitd "$work/buildkit" github.com/moby/buildkit/cmd/buildkitd \
    github.com/moby/buildkit/version.Version "v$BUILDKIT_VERSION"
  build buildctl "$work/buildkit" github.com/moby/buildkit/cmd/buildctl \
    github.com/moby/buildkit/version.Version "v$BUILDKIT_VERSION"

  log "docker-buildx v$BUILDX_VERSION"
  check_pin "$tools/buildx" github.com/docker/buildx "v$BUILDX_VERSION"
  prepare buildx
  mkdir -p "$tmp/cli-plugins"
  build docker-buildx "$work/buildx" github.com/docker/buildx/cmd/buildx \
    github.com/docker/buildx/version.Version "v$BUILDX_VERSION" cli-plugins

  # Dynamic providers (pulumi.dynamic.Resource) run as this plugin; the official distribution ships
  # an equivalent script. It runs the dynamic-provider entry point of the program's @pulumi/pulumi.
  cat >"$tmp/bin/pulumi-resource-pulumi-nodejs" <<'EOF'
#!/bin/sh
# Written by agent-sandbox's setup-pulumi.sh: runs @pulumi/pulumi's dynamic provider for the program in $PWD.
exec node "$(node -p 'require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [process.cwd()] })')" "$@"
EOF
  chmod +x "$tmp/bin/pulumi-resource-pulumi-nodejs"

  install_cache "$tmp" "$cache" cache_complete
  rm -rf "$work"
}

# gVisor from the module proxy (the Go-buildable branch of google/gvisor), static and CGO off like
# upstream's release binaries. runsc reports GVISOR_VERSION (upstream's releases say release-<date>.<n>).
build_gvisor() {
  local work="$cache_root/.work-gvisor-$gvisor_key"
  mkdir -p "$work"
  tmp=$(mktemp -d "$cache_root/.tmp-gvisor-$gvisor_key-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT HUP
  trap 'exit 143' TERM
  mkdir -p "$tmp/bin"

  log "runsc, containerd-shim-runsc-v1 $GVISOR_VERSION"
  check_pin "$tools/gvisor" gvisor.dev/gvisor "$GVISOR_VERSION"
  prepare gvisor
  # Our patches (gvisor/*.patch, each saying why; paths from the vendor folder, so a patch may reach a
  # dependency too) go over a vendored copy in the scratch folder (Go refuses overlays of the module
  # cache): the cache stays as the proxy served it, no copy is kept.
  local mod_mode=vendor patch
  (cd "$work/gvisor" && GOFLAGS=-mod=mod "$GO" mod vendor) >&2
  for patch in "$tools"/gvisor/*.patch; do
    (cd "$work/gvisor/vendor" && git apply -p1 "$patch") || die "gvisor/$(basename "$patch") does not apply to the vendored modules of gvisor.dev/gvisor $GVISOR_VERSION"
  done
  build runsc "$work/gvisor" gvisor.dev/gvisor/runsc gvisor.dev/gvisor/runsc/version.version "$GVISOR_VERSION"
  build containerd-shim-runsc-v1 "$work/gvisor" gvisor.dev/gvisor/shim "" "$GVISOR_VERSION"

  install_cache "$tmp" "$gvisor_cache" gvisor_complete
  rm -rf "$work"
}

# The Kubernetes provider from the module proxy's pseudo-version, served by our main (kubernetes/main.go)
# with the schema and Terraform mapping the module holds, as upstream's go:generate step writes them.
build_kubernetes_provider() {
  local work="$cache_root/.work-kubernetes-$kubernetes_key" mod=github.com/pulumi/pulumi-kubernetes/provider/v4 dir
  mkdir -p "$work"
  tmp=$(mktemp -d "$cache_root/.tmp-kubernetes-$kubernetes_key-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT HUP
  trap 'exit 143' TERM
  mkdir -p "$tmp/bin"

  log "pulumi-resource-kubernetes $KUBERNETES_PROVIDER_VERSION (module $KUBERNETES_PROVIDER_MODULE_VERSION)"
  check_pin "$tools/kubernetes" $mod "$KUBERNETES_PROVIDER_MODULE_VERSION"
  prepare kubernetes
  dir=$(cd "$work/kubernetes" && GOFLAGS=-mod=mod "$GO" mod download -json "$mod@$KUBERNETES_PROVIDER_MODULE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -f "$dir/cmd/pulumi-resource-kubernetes/schema.json" ] || die "$mod $KUBERNETES_PROVIDER_MODULE_VERSION has no cmd/pulumi-resource-kubernetes/schema.json"
  node -e 'const fs = require("fs"), [from, to, version] = process.argv.slice(1);
    const schema = JSON.parse(fs.readFileSync(from + "/schema.json", "utf8")); schema.version = version;
    fs.writeFileSync(to + "/schema-embed.json", JSON.stringify(schema));
    const mapping = JSON.parse(fs.readFileSync(from + "/terraform-mapping.json", "utf8"));
    fs.writeFileSync(to + "/terraform-mapping-embed.json", JSON.stringify(mapping));' \
    "$dir/cmd/pulumi-resource-kubernetes" "$work/kubernetes" "$KUBERNETES_PROVIDER_VERSION"
  build pulumi-resource-kubernetes "$work/kubernetes" . $mod/pkg/version.Version "$KUBERNETES_PROVIDER_VERSION"

  install_cache "$tmp" "$kubernetes_cache" kubernetes_complete
  rm -rf "$work"
}

mkdir -p "$cache_root"
# Builds one group of binaries unless its cache is complete, under that group's lock (runs share its
# scratch folder), which is held until the script ends.
ensure_group() { # what lock-name cache complete-function build-function fd
  local what=$1 lock=$cache_root/.lock-$2 dir=$3 complete=$4 build_group=$5 fd=$6 t0=$SECONDS
  eval "exec $fd>\"\$lock\""
  flock -w 3600 "$fd" || die "another setup-pulumi.sh holds $lock"
  if "$complete" "$dir"; then log "$what cached in $dir"; return; fi
  log "building $what into $dir (go: $("$GO" env GOVERSION), GOMODCACHE=$("$GO" env GOMODCACHE), GOCACHE=$("$GO" env GOCACHE))"
  "$build_group"
  log "built $what in $((SECONDS - t0)) s"
}
# gVisor first: its build takes minutes, while another run may hold the Pulumi tools' lock for its whole build.
ensure_group gVisor "gvisor-$gvisor_key" "$gvisor_cache" gvisor_complete build_gvisor 7
ensure_group "the Pulumi tools" "$key" "$cache" cache_complete build_all 8
ensure_group "the Kubernetes provider" "kubernetes-$kubernetes_key" "$kubernetes_cache" kubernetes_complete build_kubernetes_provider 6

# link_target binary: where a binary of the cache is linked as root
link_target() { case "$1" in "$plugins"/*) echo "$plugin_dir/${1##*/}" ;; *) echo "/usr/local/bin/${1##*/}" ;; esac; }

if $link; then
  # Links in /usr/local are for every user: the cache must be readable by them (mktemp makes it 0700).
  chmod 755 "$cache" "$gvisor_cache" "$kubernetes_cache"
  for f in "$bin"/* "$plugins"/* "$gvisor_bin"/* "$kubernetes_bin"/*; do   # check them all before linking any
    target=$(link_target "$f")
    if [ -e "$target" ] || [ -L "$target" ]; then
      case "$(readlink "$target" || true)" in
        "$cache_root"/*) ;;
        *) die "$target exists and is not ours (not a link into $cache_root): leaving it; put $bin first on PATH instead (and $plugins in ~/.docker/cli-plugins)" ;;
      esac
    fi
  done
  mkdir -p "$plugin_dir"
  for f in "$bin"/* "$plugins"/* "$gvisor_bin"/* "$kubernetes_bin"/*; do ln -sfn "$f" "$(link_target "$f")"; done
  log "linked into /usr/local/bin and $plugin_dir"
fi

if $print_bin_dir; then echo "$bin"; else
  log "binaries in $bin:"; sed 's/^/  /' "$cache/versions.txt" >&2
  log "binaries in $gvisor_bin:"; sed 's/^/  /' "$gvisor_cache/versions.txt" >&2
  log "binaries in $kubernetes_bin:"; sed 's/^/  /' "$kubernetes_cache/versions.txt" >&2
  $link || log "add it to PATH: export PATH=\"$bin:\$PATH\"; for buildx: mkdir -p ~/.docker/cli-plugins && ln -sfn $plugins/docker-buildx ~/.docker/cli-plugins/; dockerd takes runsc by its path: $gvisor_bin/runsc; the Kubernetes provider is in $kubernetes_bin"
fi
