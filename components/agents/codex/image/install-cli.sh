#!/bin/sh
# Installs OpenAI's Codex CLI into /out/bin, in the agent image's build stage (a Node image), which runs it
# in a scratch folder with NPM_ARCH (x64|arm64, from TARGETARCH), AGENT_VERSION and npm's cache set. npm pack checks the tarball against the registry's
# integrity hash; the per-arch package holds a static (musl) build, so the runtime needs no Node and no libc match.
#
# Of the package (about 430 MB unpacked) only two files are kept:
# - bin/codex (~300 MB): the whole CLI; `codex exec` runs shell commands and edits files with it alone
#   (checked by running the tool loop with nothing beside it).
# - codex-path/rg (5 MB): Codex puts it on the PATH of the model's commands and its prompts prefer rg for
#   searching; the image has no ripgrep otherwise.
# Left out: codex-code-mode-host (70 MB, the experimental "code mode", off by default),
# codex-resources/bwrap (Codex's own sandbox, which the sandbox's runs bypass with
# --dangerously-bypass-approvals-and-sandbox: the container is the sandbox) and codex-resources/voice (voice input).
#
# `codex` itself is a small wrapper (below) around the binary, installed as codex-cli: Codex 0.171 takes
# its API's base URL from config only (OPENAI_BASE_URL support was removed in openai/codex#16720), and
# the sandbox gives the credential proxy's address as an environment variable, so that runs and a
# person's interactive `codex` both use it.
set -eu

case "$NPM_ARCH" in
  x64) triple=x86_64-unknown-linux-musl ;;
  arm64) triple=aarch64-unknown-linux-musl ;;
esac

# The per-arch builds are versions of @openai/codex itself, suffixed with the platform.
tarball=$(npm pack --silent "@openai/codex@${AGENT_VERSION}-linux-${NPM_ARCH}")
vendor="package/vendor/${triple}"
tar -xzf "$tarball" "${vendor}/bin/codex" "${vendor}/codex-path/rg"
install -m 0755 "${vendor}/bin/codex" /out/bin/codex-cli
install -m 0755 "${vendor}/codex-path/rg" /out/bin/rg

cat >/out/bin/codex <<'WRAPPER'
#!/bin/sh
# Codex with its API's base URL from OPENAI_BASE_URL, as the sandbox sets it (Codex itself reads that
# only from config). The URL becomes a model provider that takes its key from OPENAI_API_KEY and speaks
# the Responses API over HTTPS: the built-in provider would first try a WebSocket, which the credential
# proxy does not forward, and retry it five times per turn. Without OPENAI_BASE_URL (a subscription
# login) Codex runs unchanged.
set -eu
cli="$(dirname "$(readlink -f "$0")")/codex-cli"
if [ -z "${OPENAI_BASE_URL:-}" ]; then exec "$cli" "$@"; fi
case "$OPENAI_BASE_URL" in
  *[\"\\[:space:]]*) echo "codex: OPENAI_BASE_URL must be a plain URL (no quotes, backslashes or spaces)" >&2; exit 2 ;;
  http://* | https://*) ;;
  *) echo "codex: OPENAI_BASE_URL='$OPENAI_BASE_URL' is not an http(s) URL" >&2; exit 2 ;;
esac
exec "$cli" -c 'model_provider="openai-base-url"' \
  -c "model_providers.openai-base-url={name=\"OpenAI at OPENAI_BASE_URL\", base_url=\"$OPENAI_BASE_URL\", env_key=\"OPENAI_API_KEY\", wire_api=\"responses\"}" \
  "$@"
WRAPPER
chmod 0755 /out/bin/codex
