#!/bin/sh
# Installs Claude Code's native CLI into /out/bin, in the agent image's build stage (docker/agent/Dockerfile
# runs this text, given as the AGENT_INSTALL build argument, with TARGETARCH and AGENT_VERSION set).
# The npm wrapper package only picks a native binary in its postinstall; packing the per-arch package
# directly needs no install scripts and no Node at runtime. npm pack checks the tarball against the
# registry's integrity hash.
set -eu
case "${TARGETARCH:-}" in
  amd64) arch=x64 ;;
  arm64) arch=arm64 ;;
  *) echo "TARGETARCH='${TARGETARCH:-}' is not supported: build with BuildKit for linux/amd64 or linux/arm64" >&2; exit 1 ;;
esac
npm pack --silent --cache /tmp/npm-cache "@anthropic-ai/claude-code-linux-${arch}@${AGENT_VERSION}" >/dev/null
tar -xzf "anthropic-ai-claude-code-linux-${arch}-${AGENT_VERSION}.tgz" package/claude
install -D -m 0755 package/claude /out/bin/claude
rm -rf package ./*.tgz /tmp/npm-cache
