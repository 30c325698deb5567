/**
 * Starting a container the provider created stopped. @pulumi/docker has no pids-limit input, so every
 * hardened container is created with `start: false`, given its limit (the CLI's `update` on Docker, the
 * host's prestart hook on Podman: Engine.pidsLimit), then started here; and what every hardened container's
 * resource options and inputs carry for the engine it runs on.
 */
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { cliCommand, type EngineClient } from "../engine/client";
import { type Engine, KNOWN_ENGINES } from "../engine/engine";
import { LABEL_PREFIX } from "../engine/naming";
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

/** The label holding a digest of the inputs the engine does not report back (Engine.unreportedContainerInputs). */
export const UNREPORTED_INPUTS_LABEL = `${LABEL_PREFIX}.unreported-inputs`;

/** The options of every hardened container: edits the provider would ignore replace it, and what the engine does not report is no drift. */
export function containerOptions(engine: Engine): pulumi.CustomResourceOptions {
  return { replaceOnChanges: REPLACE_ON_CHANGES, deleteBeforeReplace: true, ignoreChanges: [...engine.unreportedContainerInputs] };
}

/**
 * The container's inputs, with a digest of those the engine does not report back in a label: they are
 * ignored for drift (containerOptions), and an edit of one still changes the label, which replaces the
 * container. Unchanged on an engine that reports every input (Docker).
 */
export function containerWithUnreportedInputs(args: docker.ContainerArgs, engine: Engine): docker.ContainerArgs {
  if (engine.unreportedContainerInputs.length === 0) return args;
  const unreported = Object.fromEntries(engine.unreportedContainerInputs.map((key) => [key, (args as unknown as Record<string, unknown>)[key] ?? null]));
  const digest = pulumi.output(unreported).apply((values) => createHash("sha256").update(JSON.stringify(values)).digest("hex"));
  return {
    ...args,
    labels: pulumi.all([pulumi.output(args.labels ?? []), digest]).apply(([labels, value]) => [...(labels ?? []), { label: UNREPORTED_INPUTS_LABEL, value }]),
  };
}

/** The container variables that carry its pids limit to an engine that applies it as the container starts (Engine.pidsLimit). */
export function pidsLimitEnvironment(engine: Engine, pidsLimit: number): string[] {
  return engine.pidsLimit.kind === "prestart-hook" ? [`${engine.pidsLimit.variable}=${pidsLimit}`] : [];
}

/** The limit a container carries for its engine's hook (pidsLimitEnvironment), read back from its environment; none on Docker. */
export function pidsLimitFromEnvironment(env: readonly string[]): number | undefined {
  const variables = KNOWN_ENGINES.flatMap((engine) => (engine.pidsLimit.kind === "prestart-hook" ? [`${engine.pidsLimit.variable}=`] : []));
  const entry = env.findLast((variable) => variables.some((name) => variable.startsWith(name)));
  return entry === undefined ? undefined : Number(entry.slice(entry.indexOf("=") + 1));
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
  const envs = [...((args.envs as string[] | undefined) ?? []), ...pidsLimitEnvironment(settings.engine, settings.pidsLimit)];
  const container = new docker.Container(name, containerWithUnreportedInputs({ ...args, ...(envs.length > 0 ? { envs } : {}) }, settings.engine), {
    parent: options.parent,
    ...containerOptions(settings.engine),
  });
  const ready = new command.local.Command(`${name}-start`, startCommandArgs(container, settings), {
    parent: options.parent,
    ...(options.startAfter ? { dependsOn: options.startAfter } : {}),
  });
  return { container, ready };
}

/**
 * Shell lines (POSIX sh, after `set -eu`) that give the created container its pids limit, verify it took,
 * start it and wait until it is ready: until the container's own health check, run by these lines in a
 * tight loop, passes. Docker before 25 runs its first scheduled check only one full interval after the
 * start (15 s by default), so waiting for its status would wait for its schedule, not for the container;
 * its healthcheck stays for ongoing health and for `status`. On an engine that applies the limit as the
 * container starts (Podman's prestart hook), the container's own pids cgroup is read once it runs, and a
 * container without its limit is stopped. They fail with the last check's output and the logs when the
 * container stops, the engine reports it unhealthy, or HEALTH_TIMEOUT passes. CONTAINER, PIDS_LIMIT,
 * HEALTH_TIMEOUT and CHECK_TIMEOUT (seconds, one check's limit) arrive as environment variables
 * (readinessEnvironment).
 */
export function startHealthyLines(engine: EngineClient): string {
  const cli = cliCommand(engine);
  return `${engine.pidsLimit.kind === "update" ? `${cli} update --pids-limit "$PIDS_LIMIT" "$CONTAINER" >/dev/null\n` : ""}# The limit the engine recorded, then the check as it recorded it (run through the shell, as the CLI's --health-cmd is).
recorded=$(${cli} inspect -f '{{.HostConfig.PidsLimit}} {{if .Config.Healthcheck}}{{join (slice .Config.Healthcheck.Test 1) " "}}{{end}}' "$CONTAINER")
applied=\${recorded%% *} check=\${recorded#* }
${engine.pidsLimit.kind === "update" ? limitRecordedLine : ""}${cli} start "$CONTAINER" >/dev/null
${engine.pidsLimit.kind === "prestart-hook" ? limitInCgroupLines(cli) : ""}deadline=$(( $(date +%s) + HEALTH_TIMEOUT ))
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
${engine.scheduledHealth ? "" : recordHealthLine(engine)}`;
}

const limitRecordedLine = `if [ "$applied" != "$PIDS_LIMIT" ]; then echo "the engine did not apply pids limit $PIDS_LIMIT to $CONTAINER (it reports $applied)" >&2; exit 1; fi
`;

/**
 * The limit as the container's own pids cgroup has it (v1, else v2), checked before anything else runs in it;
 * a container that already stopped is left to the readiness lines below, which report why.
 */
function limitInCgroupLines(cli: string): string {
  return `limit_read=$(mktemp)
applied=$(${cli} exec "$CONTAINER" /bin/sh -c 'read -r limit < /sys/fs/cgroup/pids/pids.max || read -r limit < /sys/fs/cgroup/pids.max; echo "$limit"' 2>"$limit_read" || echo unreadable)
if [ "$applied" != "$PIDS_LIMIT" ] && [ "$(${cli} inspect -f '{{.State.Running}}' "$CONTAINER")" = true ]; then
  ${cli} stop -t 1 "$CONTAINER" >/dev/null 2>&1 || true
  echo "the engine's host did not apply pids limit $PIDS_LIMIT to $CONTAINER (its pids cgroup says $applied): install the engine's pids-limit hook (scripts/setup-engine.sh --podman; docs/engines-and-images.md)" >&2
  cat "$limit_read" >&2
  rm -f "$limit_read"
  exit 1
fi
rm -f "$limit_read"
`;
}

/** The passing check recorded as the engine's own, for an engine that runs none on its own (Podman without systemd): `status` reads it. */
function recordHealthLine(engine: EngineClient): string {
  const words = engine.healthCheckNow('"$DOCKER_HOST"', '"$CONTAINER"');
  return `env -i PATH="$PATH" HOME="$HOME" ${words.join(" ")} >/dev/null 2>&1 || true
`;
}
