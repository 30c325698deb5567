#!/usr/bin/env bash
# Runs a command against the project's local file backend (Pulumi.yaml `backend.url`) with the stack
# secrets passphrase in place. The backend folder is made when missing: the Pulumi CLI refuses a file
# backend whose folder does not exist. Secrets of a stack on the local file backend are encrypted with a
# passphrase: unless you chose one (PULUMI_CONFIG_PASSPHRASE[_FILE]), a random one is made once and kept
# beside the state, readable only by you.
set -euo pipefail
state_dir="$HOME/.pulumi-agent-sandbox"
mkdir -p "$state_dir"
# Pulumi expands `~` in Pulumi.yaml from the account's home, not $HOME: name the same folder explicitly so
# state and passphrase stay together when HOME is set otherwise. A backend you chose still wins.
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$state_dir}"
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if [ ! -s "$state_dir/passphrase" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 > "$state_dir/passphrase")
    echo "Created a passphrase for local stack secrets in $state_dir/passphrase" >&2
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$state_dir/passphrase"
fi
exec "$@"
