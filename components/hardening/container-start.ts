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
export function healthWaitSeconds(health: HealthTimings): number {
  const perCheck = durationSeconds(health.interval) + durationSeconds(health.timeout);
  return Math.ceil(durationSeconds(health.startPeriod) + perCheck * (health.retries + 1) + 30);
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
      HEALTH_TIMEOUT: String(healthWaitSeconds(settings.health)),
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
 * engine recorded it, start it and wait until Docker reports it healthy; otherwise they fail with the last
 * health output and logs. CONTAINER, PIDS_LIMIT and HEALTH_TIMEOUT (seconds) arrive as environment variables.
 */
export function startHealthyLines(engine: EngineClient): string {
  const cli = cliCommand(engine);
  return `${cli} update --pids-limit "$PIDS_LIMIT" "$CONTAINER" >/dev/null
applied=$(${cli} inspect -f '{{.HostConfig.PidsLimit}}' "$CONTAINER")
if [ "$applied" != "$PIDS_LIMIT" ]; then echo "the engine did not apply pids limit $PIDS_LIMIT to $CONTAINER (it reports $applied)" >&2; exit 1; fi
${cli} start "$CONTAINER" >/dev/null
deadline=$(( $(date +%s) + HEALTH_TIMEOUT ))
status=starting
while [ "$(date +%s)" -lt "$deadline" ]; do
  status=$(${cli} inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.Running}}' "$CONTAINER")
  case "$status" in
    "healthy true") exit 0 ;;
    unhealthy*|*" false") break ;;
  esac
  sleep 1
done
echo "container $CONTAINER did not become healthy (health, running: $status); last health check output:" >&2
${cli} inspect -f '{{if .State.Health}}{{range .State.Health.Log}}exit {{.ExitCode}}: {{.Output}}{{end}}{{end}}' "$CONTAINER" | tail -n 6 >&2
${cli} logs --tail 20 "$CONTAINER" >&2 || true
exit 1
`;
}
