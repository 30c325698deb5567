/**
 * The shell scripts an agent run's `local.Command` runs: the agent CLI through `docker exec`, either in the
 * sandbox itself or in a fresh container made for the run from the sandbox's own container spec. The
 * prompt arrives on stdin and is read by no shell; the engine's CLI starts from an empty environment.
 */
import type { AgentProfile, AgentRunRequest } from "../agents";
import { cliCommand, type EngineClient } from "../engine/client";
import { type ContainerSpec, dockerCreateArguments } from "../engine/container-cli";
import { LABEL_PREFIX, providerLabels } from "../engine/naming";
import { shellWords } from "../engine/shell";
import { startHealthyLines } from "../hardening/container-start";
import { engineExec, type SandboxExec } from "../sandbox/exec";

/** Names the run an ephemeral container was made for; with the sandbox's labels it finds a run's containers. */
export const RUN_LABEL = `${LABEL_PREFIX}.run`;

/** Prints the stream for parsing; a failing agent fails the resource with the stream's last lines (every CLI ends it with its outcome) and stderr. */
export const REPORT = `status=$?
cat "$out"
if [ "$status" -ne 0 ]; then
  echo "agent run failed (exit $status):" >&2
  tail -n 3 "$out" >&2
  tail -n 20 "$err" >&2
  exit "$status"
fi
`;

export function agentExecLine(agent: AgentProfile, request: AgentRunRequest, exec: SandboxExec): string {
  return exec.line(`agent-exec ${shellWords(agent.cliArguments(request))}`, { stdin: true });
}

/** The run in the sandbox container ($CONTAINER) as $AGENT_USER. */
export function agentRunScript(agent: AgentProfile, request: AgentRunRequest, exec: SandboxExec): string {
  return `set -u
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
${agentExecLine(agent, request, exec)} >"$out" 2>"$err"
${REPORT}`;
}

/** The labels of the sandbox's container plus the run's: what an ephemeral container of this run carries. */
export function ephemeralContainerSpec(sandboxSpec: ContainerSpec, runName: string): ContainerSpec {
  // The name is the script's ($CONTAINER, one per run); a container that outlives its run never restarts.
  const { name: _name, ...spec } = sandboxSpec;
  return { ...spec, restart: "no", labels: [...(sandboxSpec.labels ?? []), ...providerLabels({ [RUN_LABEL]: runName })] };
}

/** `docker ps` filters matching exactly the containers of one run: the sandbox's identity labels plus the run's. */
export function runContainerFilters(labels: Record<string, string>, runName: string): string[] {
  return Object.entries({ ...labels, [RUN_LABEL]: runName }).flatMap(([label, value]) => ["--filter", `label=${label}=${value}`]);
}

/**
 * Removes all but the newest $KEEP_FINISHED containers of the run: Docker's `ps` lists newest first, Podman's
 * in no order, so there they are sorted by creation (then by name, which holds the run's start second).
 */
export function pruneRunContainersLines(engine: EngineClient, filters: string[]): string {
  const cli = cliCommand(engine);
  const newestFirst = engine.listsNewestFirst
    ? `${cli} ps -aq ${shellWords(filters)}`
    : `${cli} ps -a ${shellWords(filters)} --format '{{.CreatedAt}}\t{{.Names}}\t{{.ID}}' | sort -r | cut -f3`;
  return `stale=$(${newestFirst} | tail -n +"$((KEEP_FINISHED + 1))")
if [ -n "$stale" ]; then ${cli} rm -f -v $stale >/dev/null; fi
`;
}

export interface EphemeralRunSpec {
  /** The run's name, on its containers' RUN_LABEL. */
  readonly runName: string;
  /** The sandbox container's inputs, resolved; the run's container is made from them. */
  readonly sandboxSpec: ContainerSpec;
  /** The sandbox's own labels (project, stack, sandbox): with the run's, they find this run's containers. */
  readonly sandboxLabels: Record<string, string>;
}

/**
 * The run in a container of its own: created from the sandbox's spec, given the pids limit, started and
 * healthy like the sandbox (container-start.ts), the agent run in it, and on any exit (success, failure,
 * a signal) stopped and pruned to the newest $KEEP_FINISHED. The start and the agent run in the background
 * so a signal reaches the trap at once rather than after they end (a shell runs traps only between
 * commands); the agent's stdin is handed over explicitly (fd 3), as a background job's would be /dev/null.
 * A SIGKILL runs no trap: the run's next start prunes what it left, and its cleanup removes all at destroy.
 * Environment: CONTAINER_PREFIX, AGENT_USER, PIDS_LIMIT, HEALTH_TIMEOUT, CHECK_TIMEOUT, KEEP_FINISHED.
 */
export function ephemeralRunScript(agent: AgentProfile, request: AgentRunRequest, engine: EngineClient, run: EphemeralRunSpec): string {
  const cli = cliCommand(engine);
  const filters = runContainerFilters(run.sandboxLabels, run.runName);
  const create = dockerCreateArguments(ephemeralContainerSpec(run.sandboxSpec, run.runName));
  return `set -u
out=$(mktemp) err=$(mktemp)
CONTAINER="$CONTAINER_PREFIX-$(date -u +%Y%m%d%H%M%S)-$$"
finish() {
  trap - EXIT INT TERM HUP
  if [ "$KEEP_FINISHED" -gt 0 ]; then ${cli} stop -t 5 "$CONTAINER" >/dev/null 2>&1 || true; fi
  ${pruneRunContainersLines(engine, filters).trimEnd().replace(/\n/g, "\n  ")}
  rm -f "$out" "$err"
}
trap finish EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
${cli} create --name "$CONTAINER" ${shellWords(create)} >/dev/null || exit 1
( set -eu
${startHealthyLines(engine)}) &
wait $! || exit 1
exec 3<&0
${agentExecLine(agent, request, engineExec(engine))} <&3 >"$out" 2>"$err" &
wait $!
${REPORT}`;
}

/** Removes every container of the run: the delete of the run's container cleanup, when the run leaves the stack. */
export function removeRunContainersScript(engine: EngineClient, sandboxLabels: Record<string, string>, runName: string): string {
  return `set -u
KEEP_FINISHED=0
${pruneRunContainersLines(engine, runContainerFilters(sandboxLabels, runName))}`;
}
