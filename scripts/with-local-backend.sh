#!/usr/bin/env bash
# Runs a command with the local stack secrets passphrase in place. Secrets of a stack on the local file
# backend are encrypted with a passphrase; unless you chose one (PULUMI_CONFIG_PASSPHRASE[_FILE]), a
# random one is made once and kept beside the state, readable only by you.
set -euo pipefail
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  state_dir="$HOME/.pulumi-agent-sandbox"
  mkdir -p "$state_dir"
  if [ ! -s "$state_dir/passphrase" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 > "$state_dir/passphrase")
    echo "Created a passphrase for local stack secrets in $state_dir/passphrase" >&2
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$state_dir/passphrase"
fi
exec "$@"
