/**
 * Starting a container the provider created stopped. @pulumi/docker has no pids-limit input, so every
 * hardened container is created with `start: false`, given its limit with the CLI's `update`, then started here.
 */
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { cliCommand, type EngineClient } from "../engine/client";
import { durationToMilliseconds } from "../values/schema";
import type { HealthTimings } from "./baseline";

/** Container inputs the pinned provider silently ignores on update: listing them makes an edit replace. */
export const REPLACE_ON_CHANGES = ["healthcheck", "tmpfs", "mounts"];

const durationSeconds = (duration: string): number => durationToMilliseconds(duration) / 1000;

/** Long enough for the start period plus every retry of a failing check, so "unhealthy" is reached first. */
function healthWaitSeconds(health: HealthTimings): number {
  const perCheck = durationSeconds(health.interval) + durationSeconds(health.timeout);
  return Math.ceil(durationSeconds(health.startPeriod) + perCheck * (health.retries + 1) + 30);
}

/** The environment startHealthyLines reads its deadlines from. */
export function readinessEnvironment(health: HealthTimings): { HEALTH_TIMEOUT: string; CHECK_TIMEOUT: string } {
  return { HEALTH_TIMEOUT: String(healthWaitSeconds(health)), CHECK_TIMEOUT: String(Math.max(1, Math.ceil(durationSeconds(health.timeout)))) };
}

/** The start command of a container created stopped; it re-runs whenever the container is replaced. */
export function startCommandArgs(
  container: docker.Container,
  settings: { pidsLimit: number; health: HealthTimings; engine: EngineClient },
): command.local.CommandArgs {
  return {
    create: `set -eu\n${startHealthyLines(settings.engine)}`,
    environment: {
      ...settings.engine.env,
      CONTAINER: container.name,
      PIDS_LIMIT: String(settings.pidsLimit),
      ...readinessEnvironment(settings.health),
    },
    triggers: [container.id],
  };
}

/**
 * A hardened container created stopped and its start command (`<name>-start`), both children of `parent`:
 * what every proxy beside a sandbox is. The start waits for `startAfter` (secrets being written).
 */
export function startedContainer(
  name: string,
  args: docker.ContainerArgs,
  settings: { pidsLimit: number; health: HealthTimings; engine: EngineClient },
  options: { parent: pulumi.Resource; startAfter?: pulumi.Input<pulumi.Resource>[] },
): { container: docker.Container; ready: command.local.Command } {
  const container = new docker.Container(name, args, { parent: options.parent, replaceOnChanges: REPLACE_ON_CHANGES, deleteBeforeReplace: true });
  const ready = new command.local.Command(`${name}-start`, startCommandArgs(container, settings), {
    parent: options.parent,
    ...(options.startAfter ? { dependsOn: options.startAfter } : {}),
  });
  return { container, ready };
}

/**
 * Shell lines (POSIX sh, after `set -eu`) that apply the pids limit to the created container, verify the
 * engine recorded it, start it and wait until it is ready: until the container's own health check, run
 * by these lines in a tight loop, passes. Docker before 25 runs its first scheduled check only one full
 * interval after the start (15 s by default), so waiting for its status would wait for its schedule, not
 * for the container; its healthcheck stays for ongoing health and for `status`. They fail with the last
 * check's output and the logs when the container stops, Docker reports it unhealthy, or HEALTH_TIMEOUT
 * passes. CONTAINER, PIDS_LIMIT, HEALTH_TIMEOUT and CHECK_TIMEOUT (seconds, one check's limit) arrive as
 * environment variables (readinessEnvironment).
 */
export function startHealthyLines(engine: EngineClient): string {
  const cli = cliCommand(engine);
  return `${cli} update --pids-limit "$PIDS_LIMIT" "$CONTAINER" >/dev/null
# The limit the engine recorded, then the check as it recorded it (run through the shell, as the CLI's --health-cmd is).
recorded=$(${cli} inspect -f '{{.HostConfig.PidsLimit}} {{if .Config.Healthcheck}}{{join (slice .Config.Healthcheck.Test 1) " "}}{{end}}' "$CONTAINER")
applied=\${recorded%% *} check=\${recorded#* }
if [ "$applied" != "$PIDS_LIMIT" ]; then echo "the engine did not apply pids limit $PIDS_LIMIT to $CONTAINER (it reports $applied)" >&2; exit 1; fi
${cli} start "$CONTAINER" >/dev/null
deadline=$(( $(date +%s) + HEALTH_TIMEOUT ))
check_output=$(mktemp)
# One run of the check, killed after CHECK_TIMEOUT as Docker's own would be; a container without one is ready once it runs.
check_passes() {
  [ -n "$check" ] || return 0
  ${cli} exec "$CONTAINER" /bin/sh -c "$check" >"$check_output" 2>&1 &
  check_pid=$!
  ( sleep "$CHECK_TIMEOUT"; kill "$check_pid" 2>/dev/null ) >/dev/null 2>&1 &
  watchdog=$!
  if wait "$check_pid"; then passed=0; else passed=$?; fi
  kill "$watchdog" 2>/dev/null || true
  return "$passed"
}
not_ready() {
  echo "container $CONTAINER did not become ready ($1); last check output:" >&2
  tail -n 6 "$check_output" >&2
  rm -f "$check_output"
  ${cli} logs --tail 20 "$CONTAINER" >&2 || true
  exit 1
}
# The first check runs at once; the engine is asked whether the container still runs only after a failed one.
until check_passes; do
  status=$(${cli} inspect -f '{{.State.Running}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$CONTAINER")
  case "$status" in
    false*|*unhealthy) not_ready "running, health: $status" ;;
  esac
  [ "$(date +%s)" -lt "$deadline" ] || not_ready "no passing check in $HEALTH_TIMEOUT s; running, health: $status"
  sleep 0.1
done
rm -f "$check_output"
`;
}
