#!/bin/sh
# Installs Claude Code's native CLI into /out/bin, in the agent image's build stage (a Node image).
# Env: TARGETARCH (amd64|arm64), AGENT_VERSION (a Claude Code release); NODE_EXTRA_CA_CERTS when
# outbound HTTPS passes a TLS-intercepting proxy.
# The npm wrapper package only picks a native binary in its postinstall; packing the per-arch package
# directly needs no install scripts and no Node at runtime. npm pack checks the tarball against the
# registry's integrity hash. The binary is self-contained: nothing else of the package is needed.
set -eu

case "${TARGETARCH:-}" in
  amd64) arch=x64 ;;
  arm64) arch=arm64 ;;
  *) echo "install-cli.sh: TARGETARCH='${TARGETARCH:-}' is not supported: build with BuildKit for linux/amd64 or linux/arm64" >&2; exit 1 ;;
esac
: "${AGENT_VERSION:?install-cli.sh: set AGENT_VERSION to a Claude Code release, e.g. 2.1.330}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
tarball=$(npm pack --silent --cache "$work/npm-cache" "@anthropic-ai/claude-code-linux-${arch}@${AGENT_VERSION}")
tar -xzf "$tarball" package/claude
mkdir -p /out/bin
install -m 0755 package/claude /out/bin/claude
