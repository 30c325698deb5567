#!/bin/sh
# Installs the OpenCode CLI into /out/bin, in the agent image's build stage (a Node image).
# Env: TARGETARCH (amd64|arm64), AGENT_VERSION (an OpenCode release, e.g. 1.18.33); NODE_EXTRA_CA_CERTS
# when outbound HTTPS passes a TLS-intercepting proxy. The npm wrapper package `opencode-ai` only picks a
# native binary in its postinstall; the per-arch package holds that binary alone (a Bun executable with
# everything bundled), so packing it directly needs no install scripts and no Node at runtime. npm pack
# checks the tarball against the registry's integrity hash.
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
tarball=$(npm pack --silent --cache "$work/npm-cache" "opencode-linux-${arch}@${AGENT_VERSION}")
tar -xzf "$tarball" package/bin/opencode
mkdir -p /out/bin
install -m 0755 package/bin/opencode /out/bin/opencode
