#!/bin/sh
# Installs Claude Code's native CLI into /out/bin, in the agent image's build stage (a Node image), which
# runs it in a scratch folder with NPM_ARCH (x64|arm64, from TARGETARCH), AGENT_VERSION and npm's cache set.
# The npm wrapper package only picks a native binary in its postinstall; packing the per-arch package
# directly needs no install scripts and no Node at runtime. npm pack checks the tarball against the
# registry's integrity hash. The binary is self-contained: nothing else of the package is needed.
set -eu

tarball=$(npm pack --silent "@anthropic-ai/claude-code-linux-${NPM_ARCH}@${AGENT_VERSION}")
tar -xzf "$tarball" package/claude
install -m 0755 package/claude /out/bin/claude
