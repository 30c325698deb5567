#!/usr/bin/env bash
# Repairs what an interrupted `pulumi up` leaves on a file backend, before the next command:
#  - a killed up (SIGKILL, a closed terminal, a killed CI job) leaves its lock, and every later command
#    refuses the stack until `pulumi cancel`. Only locks taken on this machine by a process that no longer
#    runs are stale; a lock held by a live process (another up) or another machine is left alone, and then
#    the CLI's own refusal stands.
#  - an interrupted step stays in the state as a pending operation, and every later up warns about it until
#    an interactive `pulumi refresh`. Pending creates of local.Commands (start commands, agent runs) made no
#    engine object the state could lose: the next up runs them again, so they are dropped. Any other pending
#    operation is left for the user, with the CLI's own advice.
# Usage: scripts/recover-interrupted.sh <stack>   (stack.sh runs it before each command)
set -euo pipefail
stack="${1:?usage: scripts/recover-interrupted.sh <stack>}"
backend="${PULUMI_BACKEND_URL:-}"
case "$backend" in file://*) ;; *) exit 0 ;; esac
dir="${backend#file://}"
dir="${dir%%\?*}"
project="$(sed -n 's/^name:[[:space:]]*//p' Pulumi.yaml | head -n 1)"

unlock_if_stale() {
  local locks="$dir/.pulumi/locks/organization/$project/$stack" host stale=0 lock pid lock_host
  [ -d "$locks" ] || return 0
  host="$(hostname)"
  for lock in "$locks"/*.json; do
    [ -f "$lock" ] || continue
    # {"pid":123,"username":"me","hostname":"box","timestamp":"…"}, as the CLI writes it.
    pid="$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$lock")"
    lock_host="$(sed -n 's/.*"hostname":"\([^"]*\)".*/\1/p' "$lock")"
    if [ "$lock_host" != "$host" ] || [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null; then return 0; fi
    stale=$((stale + 1))
  done
  [ "$stale" -gt 0 ] || return 0
  echo "Stack $stack was locked by a pulumi process that no longer runs (an interrupted update); unlocking it with pulumi cancel." >&2
  pulumi cancel --yes --non-interactive --stack "$stack" >&2
}

drop_pending_command_creates() {
  local state="$dir/.pulumi/stacks/$project/$stack.json" repaired
  [ -f "$state" ] && grep -q '"pending_operations"' "$state" || return 0
  repaired="$(mktemp)"
  pulumi stack export --stack "$stack" | node -e '
    const state = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
    const pending = state.deployment.pending_operations ?? [];
    const rerun = pending.filter((op) => op.type === "creating" && op.resource.type === "command:local:Command");
    if (rerun.length === 0) process.exit(3);
    state.deployment.pending_operations = pending.filter((op) => !rerun.includes(op));
    for (const op of rerun) console.error(`The interrupted ${op.resource.urn.split("::").pop()} is dropped from the state: the next up runs it again.`);
    process.stdout.write(JSON.stringify(state));
  ' >"$repaired" || { rm -f "$repaired"; return 0; }
  pulumi stack import --stack "$stack" --file "$repaired" --non-interactive >/dev/null
  rm -f "$repaired"
}

unlock_if_stale
drop_pending_command_creates
