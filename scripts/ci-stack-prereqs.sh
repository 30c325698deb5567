#!/usr/bin/env bash
# CI (preview.yml, up.yml): what a shared stack's preview or update needs before Pulumi starts. A shared
# state backend (on a throwaway runner the project's file:// default would lose the state), and an answer
# from the stack's Docker engine: the provider connects to it even for a preview. For an ssh:// engine the
# key and known_hosts come from the repository secrets SANDBOX_SSH_KEY and SANDBOX_SSH_KNOWN_HOSTS.
# Usage: scripts/ci-stack-prereqs.sh <stack>
set -euo pipefail
stack="${1:?usage: scripts/ci-stack-prereqs.sh <stack>}"
cd "$(dirname "$0")/.."

fail() { echo "::error::$*"; exit 1; }

[ -n "${PULUMI_BACKEND_URL:-}" ] || fail "Repository secret PULUMI_BACKEND_URL is empty; set it to the shared state backend (s3://bucket/prefix, azblob://..., gs://..., or https://api.pulumi.com with PULUMI_ACCESS_TOKEN). Without it the project's file:// backend on this throwaway runner would be used."

host=$(node -e '
  const config = require("yaml").parse(require("fs").readFileSync(process.argv[1], "utf8"))?.config ?? {};
  process.stdout.write(config["agent-sandbox:docker"]?.host ?? "");
' "Pulumi.$stack.yaml")

case "$host" in
  ssh://*)
    [ -n "${SANDBOX_SSH_KEY:-}" ] || fail "stack $stack reaches its Docker engine at $host: set the repository secret SANDBOX_SSH_KEY to a private key that host accepts"
    [ -n "${SANDBOX_SSH_KNOWN_HOSTS:-}" ] || fail "stack $stack reaches its Docker engine at $host: set the repository secret SANDBOX_SSH_KNOWN_HOSTS to that host's line(s) from ssh-keyscan, checked by hand"
    (umask 077 && mkdir -p "$HOME/.ssh" && printf '%s\n' "$SANDBOX_SSH_KEY" > "$HOME/.ssh/agent-sandbox-engine")
    printf '%s\n' "$SANDBOX_SSH_KNOWN_HOSTS" >> "$HOME/.ssh/known_hosts"
    printf 'IdentityFile %s\n' "$HOME/.ssh/agent-sandbox-engine" >> "$HOME/.ssh/config"
    ;;
esac

# An unset docker.host is the runner's own engine (a self-hosted runner on the sandbox host, SANDBOX_RUNNER).
DOCKER_HOST="${host:-unix:///var/run/docker.sock}" docker info --format 'Docker {{.ServerVersion}} at '"${host:-the local socket}"', storage {{.Driver}}, cgroup {{.CgroupDriver}}' \
  || fail "stack $stack: the Docker engine at ${host:-the local socket} does not answer"
