/**
 * Starting a container the provider created stopped. @pulumi/docker has no pids-limit input, so every
 * hardened container is created with `start: false`, given its limit with `docker update`, then started here.
 */
import type * as command from "@pulumi/command";
import type * as docker from "@pulumi/docker";
import { durationToMilliseconds } from "./config";
import { cleanEnvPrefix } from "./shell";

/** Container inputs the pinned provider silently ignores on update: listing them makes an edit replace. */
export const REPLACE_ON_CHANGES = ["healthcheck", "tmpfs", "mounts"];

/** The CFS period a CPU quota is a share of: the one Docker's own `--cpus` uses (100 ms). */
export const CPU_PERIOD_US = 100_000;

/**
 * A CPU limit as docker.Container inputs: the CFS quota `--cpus` would set, given as integers. Not `cpus`:
 * the provider reads NanoCpus back through its own decimal formatting ("2" returns as "2.0", 0.01 as
 * "0.0"), so every preview and refresh after an up saw a change and replaced the container.
 */
export function cpuLimitArgs(cpus: number): { cpuPeriod: number; cpuQuota: number } {
  return { cpuPeriod: CPU_PERIOD_US, cpuQuota: Math.round(cpus * CPU_PERIOD_US) };
}

/**
 * The container inputs that leave it created but stopped, for the start command to apply the pids limit
 * before the first process runs, start it and wait for it to be healthy.
 */
export const CREATED_STOPPED = { start: false, mustRun: false, wait: false } as const;

/** The healthcheck timings the start command waits for (docker.Container healthcheck durations). */
export interface HealthTimings {
  readonly interval: string;
  readonly timeout: string;
  readonly startPeriod: string;
  readonly retries: number;
}

const durationSeconds = (duration: string): number => durationToMilliseconds(duration) / 1000;

/** Long enough for the start period plus every retry of a failing check, so "unhealthy" is reached first. */
export function healthWaitSeconds(health: HealthTimings): number {
  const perCheck = durationSeconds(health.interval) + durationSeconds(health.timeout);
  return Math.ceil(durationSeconds(health.startPeriod) + perCheck * (health.retries + 1) + 30);
}

/** The start command of a container created stopped; it re-runs whenever the container is replaced. */
export function startCommandArgs(
  container: docker.Container,
  settings: { pidsLimit: number; health: HealthTimings; dockerEnv: Record<string, string> },
): command.local.CommandArgs {
  return {
    create: `set -eu\n${startHealthyLines(settings.dockerEnv)}`,
    environment: {
      ...settings.dockerEnv,
      CONTAINER: container.name,
      PIDS_LIMIT: String(settings.pidsLimit),
      HEALTH_TIMEOUT: String(healthWaitSeconds(settings.health)),
    },
    triggers: [container.id],
  };
}

/**
 * Shell lines (POSIX sh, after `set -eu`) that apply the pids limit to the created container, verify the
 * engine recorded it, start it and wait until Docker reports it healthy; otherwise they fail with the last
 * health output and logs. CONTAINER, PIDS_LIMIT and HEALTH_TIMEOUT (seconds) arrive as environment variables.
 */
export function startHealthyLines(dockerEnv: Record<string, string>): string {
  const docker = `${cleanEnvPrefix(dockerEnv)} docker`;
  return `${docker} update --pids-limit "$PIDS_LIMIT" "$CONTAINER" >/dev/null
applied=$(${docker} inspect -f '{{.HostConfig.PidsLimit}}' "$CONTAINER")
if [ "$applied" != "$PIDS_LIMIT" ]; then echo "the engine did not apply pids limit $PIDS_LIMIT to $CONTAINER (it reports $applied)" >&2; exit 1; fi
${docker} start "$CONTAINER" >/dev/null
deadline=$(( $(date +%s) + HEALTH_TIMEOUT ))
status=starting
while [ "$(date +%s)" -lt "$deadline" ]; do
  status=$(${docker} inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.Running}}' "$CONTAINER")
  case "$status" in
    "healthy true") exit 0 ;;
    unhealthy*|*" false") break ;;
  esac
  sleep 1
done
echo "container $CONTAINER did not become healthy (health, running: $status); last health check output:" >&2
${docker} inspect -f '{{if .State.Health}}{{range .State.Health.Log}}exit {{.ExitCode}}: {{.Output}}{{end}}{{end}}' "$CONTAINER" | tail -n 6 >&2
${docker} logs --tail 20 "$CONTAINER" >&2 || true
exit 1
`;
}
