#!/bin/sh
# Installs the OpenCode CLI into /out/bin, in the agent image's build stage (a Node image).
# Env: TARGETARCH (amd64|arm64), AGENT_VERSION (an OpenCode release, e.g. 1.18.33); NODE_EXTRA_CA_CERTS
# when outbound HTTPS passes a TLS-intercepting proxy. The npm wrapper package `opencode-ai` only picks a
# native binary in its postinstall; the per-arch package holds that binary alone (a Bun executable with
# everything bundled), so packing it directly needs no install scripts and no Node at runtime. npm pack
# checks the tarball against the registry's integrity hash.
# OpenCode does not publish every release for every arch: opencode-linux-arm64 stopped at 1.18.18 while x64
# has 1.18.33, so an arm64 build of a newer release fails here with the registry's 404 and a hint. The x64
# build needs AVX2 (Bun); CPUs without it need the opencode-linux-x64-baseline package instead.
set -eu

case "${TARGETARCH:-}" in
  amd64) arch=x64 ;;
  arm64) arch=arm64 ;;
  *) echo "install-cli.sh: TARGETARCH='${TARGETARCH:-}' is not supported: build with BuildKit for linux/amd64 or linux/arm64" >&2; exit 1 ;;
esac
: "${AGENT_VERSION:?install-cli.sh: set AGENT_VERSION to an OpenCode release, e.g. 1.18.33}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
package="opencode-linux-${arch}@${AGENT_VERSION}"
if ! tarball=$(npm pack --silent --cache "$work/npm-cache" "$package"); then
  echo "install-cli.sh: npm could not fetch $package; releases published for this arch: npm view opencode-linux-${arch} versions" >&2
  exit 1
fi
tar -xzf "$tarball" package/bin/opencode
mkdir -p /out/bin
install -m 0755 package/bin/opencode /out/bin/opencode
