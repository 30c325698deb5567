#!/usr/bin/env bash
# Preview or provision a stack (default `dev`, or $AGENT_SANDBOX_STACK) on the embedded default: a local
# file backend (Pulumi.yaml `backend.url`), no cloud account.
# Usage: scripts/stack.sh up|preview [workspace folder] [extra pulumi flags]   (npm run up / npm run preview)
set -euo pipefail
# npm runs scripts from the project folder; INIT_CWD is where the developer typed the command.
invoked_from="${INIT_CWD:-$PWD}"
cd "$(dirname "$0")/.."

command -v pulumi >/dev/null || { echo "The Pulumi CLI is not installed: see https://www.pulumi.com/docs/install/" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "No Docker engine answers (docker info failed): start Docker first." >&2; exit 1; }

verb="${1:?usage: scripts/stack.sh up|preview [workspace folder] [pulumi flags]}"
shift
stack="${AGENT_SANDBOX_STACK:-dev}"
local_backend=(bash scripts/with-local-backend.sh)
if ! "${local_backend[@]}" pulumi stack select "$stack" 2>/dev/null; then
  "${local_backend[@]}" pulumi stack init "$stack" --secrets-provider passphrase
  # A new stack says which kernel its agents get (gVisor where the engine offers runsc), unless its file already does.
  if ! "${local_backend[@]}" pulumi config get --stack "$stack" isolation >/dev/null 2>&1; then
    isolation="$(npx --no-install tsx scripts/new-stack-isolation.ts)"
    "${local_backend[@]}" pulumi config set --stack "$stack" isolation "$isolation"
  fi
fi
# What an interrupted earlier up left: a stale lock, pending creates of commands (scripts/recover-interrupted.sh).
"${local_backend[@]}" bash scripts/recover-interrupted.sh "$stack"
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  workspace="$(cd "$invoked_from" && cd "$1" && pwd)"
  shift
  "${local_backend[@]}" pulumi config set --stack "$stack" workspace "$workspace"
fi
# The preview shows every input it would set; added here, after the folder, so `npm run preview -- <folder>` sets it.
if [ "$verb" = preview ]; then set -- --diff "$@"; fi
# A config too big for the one environment variable the CLI hands it over in never reaches the program.
npx --no-install tsx scripts/check-config-size.ts "Pulumi.$stack.yaml"
"${local_backend[@]}" pulumi "$verb" --stack "$stack" "$@"
