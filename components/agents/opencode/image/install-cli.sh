#!/bin/sh
# Installs the OpenCode CLI into /out/bin, in the agent image's build stage (a Node image), which runs it in
# a scratch folder with NPM_ARCH (x64|arm64, from TARGETARCH), AGENT_VERSION and npm's cache set. The npm
# wrapper package `opencode-ai` only picks a native binary in its postinstall; the per-arch package holds
# that binary alone (a Bun executable with everything bundled), so packing it directly needs no install
# scripts and no Node at runtime. npm pack checks the tarball against the registry's integrity hash.
# OpenCode does not publish every release for every arch: opencode-linux-arm64 stopped at 1.18.18 while x64
# has 1.18.33, so an arm64 build of a newer release fails here with the registry's 404 and a hint. The x64
# build needs AVX2 (Bun); CPUs without it need the opencode-linux-x64-baseline package instead.
set -eu

package="opencode-linux-${NPM_ARCH}@${AGENT_VERSION}"
if ! tarball=$(npm pack --silent "$package"); then
  echo "install-cli.sh: npm could not fetch $package; releases published for this arch: npm view opencode-linux-${NPM_ARCH} versions" >&2
  exit 1
fi
tar -xzf "$tarball" package/bin/opencode
install -m 0755 package/bin/opencode /out/bin/opencode
