#!/usr/bin/env bash
# Provision the `dev` stack on the embedded default: a local file backend (Pulumi.yaml `backend.url`),
# no cloud account. Usage: npm run up -- [workspace folder] [extra `pulumi up` flags]
set -euo pipefail
cd "$(dirname "$0")/.."

command -v pulumi >/dev/null || { echo "The Pulumi CLI is not installed: see https://www.pulumi.com/docs/install/" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "No Docker engine answers (docker info failed): start Docker first." >&2; exit 1; }

stack="${AGENT_SANDBOX_STACK:-dev}"
# Secrets of a local stack are encrypted with a passphrase; unless you chose one, make a random one once
# and keep it beside the state, readable only by you.
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  state_dir="$HOME/.pulumi-agent-sandbox"
  mkdir -p "$state_dir"
  if [ ! -s "$state_dir/passphrase" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 > "$state_dir/passphrase")
    echo "Created a passphrase for local stack secrets in $state_dir/passphrase"
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$state_dir/passphrase"
fi

pulumi stack select "$stack" 2>/dev/null || pulumi stack init "$stack" --secrets-provider passphrase
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  workspace="$(cd "$1" && pwd)"
  shift
  pulumi config set workspace "$workspace"
fi
pulumi up --stack "$stack" "$@"
