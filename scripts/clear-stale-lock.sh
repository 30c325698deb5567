#!/usr/bin/env bash
# Unlocks a stack on a file backend whose last `pulumi up` was killed (SIGKILL, a closed terminal, a killed
# CI job): the CLI leaves its lock behind, and every later command refuses the stack until `pulumi cancel`.
# Only locks taken on this machine by a process that no longer runs are stale; a lock held by a live process
# (another up) or by another machine is left alone, and then the CLI's own refusal stands.
# Usage: scripts/clear-stale-lock.sh <stack>   (PULUMI_BACKEND_URL must be file://…; stack.sh runs it before each command)
set -euo pipefail
stack="${1:?usage: scripts/clear-stale-lock.sh <stack>}"
backend="${PULUMI_BACKEND_URL:-}"
case "$backend" in file://*) ;; *) exit 0 ;; esac
dir="${backend#file://}"
dir="${dir%%\?*}"
project="$(sed -n 's/^name:[[:space:]]*//p' Pulumi.yaml | head -n 1)"
locks="$dir/.pulumi/locks/organization/$project/$stack"
[ -d "$locks" ] || exit 0

host="$(hostname)"
stale=0
for lock in "$locks"/*.json; do
  [ -f "$lock" ] || continue
  # {"pid":123,"username":"me","hostname":"box","timestamp":"…"}, as the CLI writes it.
  pid="$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$lock")"
  lock_host="$(sed -n 's/.*"hostname":"\([^"]*\)".*/\1/p' "$lock")"
  if [ "$lock_host" != "$host" ] || [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null; then
    exit 0
  fi
  stale=$((stale + 1))
done
[ "$stale" -gt 0 ] || exit 0
echo "Stack $stack was locked by a pulumi process that no longer runs (an interrupted update); unlocking it with pulumi cancel." >&2
pulumi cancel --yes --non-interactive --stack "$stack" >&2
