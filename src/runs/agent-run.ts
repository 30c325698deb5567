/**
 * One agent execution: `docker exec` into a sandbox as the agent user in /workspace, the agent CLI run
 * non-interactively and its output read by the agent's own module into stack outputs. The prompt travels on stdin,
 * so no shell ever reads it; the API key never passes through here at all (agent-exec inside the image
 * reads it from the read-only credentials volume).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { AgentProfile } from "../agents";
import type { RunConfig } from "../config/sections";
import { cleanEnvPrefix, shellQuote, shellWords } from "../engine/shell";
import { WORKSPACE_PATH } from "../sandbox/contract";
import type { AgentRunSummary } from "./run-summary";

export interface AgentRunArgs {
  /** Validated run config. */
  readonly run: RunConfig;
  /** The agent CLI the sandbox runs (its sandbox's `agent`). */
  readonly agent: AgentProfile;
  /** Physical name of the sandbox container to run in. */
  readonly containerName: pulumi.Input<string>;
  /** `uid:gid` the agent runs as. */
  readonly agentUser: string;
  /** Environment the docker CLI needs to reach the engine (DOCKER_HOST…); empty for the local engine. */
  readonly dockerEnv: Record<string, string>;
  /** Resources that must be complete first: the sandbox's start command. */
  readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** Marks every process of a run (the agent and whatever it starts), so a leftover one can be found. */
export const RUN_MARKER = "AGENT_SANDBOX_RUN";

/**
 * Inside the sandbox, as the agent user: SIGKILL every process carrying the run's marker ($1). `docker exec`
 * does not stop what it started when its client dies, so a killed client or `pulumi up` leaves the agent
 * working in the sandbox; a later run must not race it.
 */
export const STOP_RUN_SCRIPT = `for environ in /proc/[0-9]*/environ; do
  if tr '\\0' '\\n' <"$environ" 2>/dev/null | grep -qxF "${RUN_MARKER}=$1"; then pid=\${environ#/proc/}; kill -KILL "\${pid%/environ}" 2>/dev/null; fi
done; true`;

/**
 * The command the provider runs. The docker CLI starts from an empty environment (the provider would hand
 * it the Pulumi CLI's own, credentials included); a failing agent fails the resource with its result line.
 * A leftover of the same run is stopped first, and after a failure; the agent runs in the background so a
 * TERM/INT/HUP of this script (the provider cancelled) stops the run inside the sandbox too. A failed create
 * is not recorded in the state, so the next `pulumi up` runs it again.
 */
export function agentRunScript(agent: AgentProfile, run: RunConfig, dockerEnv: Record<string, string>): string {
  const docker = `${cleanEnvPrefix(dockerEnv)} docker`;
  const marker = `${RUN_MARKER}=${run.name}`;
  const exec = `${docker} exec -i -e ${shellQuote(marker)} -u "$AGENT_USER" -w ${WORKSPACE_PATH} "$CONTAINER" agent-exec ${shellWords(agent.cliArguments(run))}`;
  return `set -u
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
stop_run() { ${docker} exec -u "$AGENT_USER" "$CONTAINER" sh -c ${shellQuote(STOP_RUN_SCRIPT)} sh ${shellQuote(run.name)} </dev/null >/dev/null 2>&1 || true; }
stop_run
# A background job's stdin is /dev/null unless redirected: the prompt arrives on fd 3.
exec 3<&0
${exec} <&3 >"$out" 2>"$err" 3<&- &
client=$!
trap 'kill "$client" 2>/dev/null; stop_run; exit 143' TERM INT HUP
wait "$client"
status=$?
cat "$out"
if [ "$status" -ne 0 ]; then
  stop_run
  if [ "$status" -gt 128 ]; then how="exit $status: killed by signal $((status - 128)) before it finished"; else how="exit $status"; fi
  echo "agent run ${run.name} failed ($how):" >&2
  grep '"type":"result"' "$out" | tail -n 1 >&2
  tail -n 20 "$err" >&2
  sandbox=$(${docker} inspect -f '{{.State.Status}}{{if .State.Health}}, {{.State.Health.Status}}{{end}}' "$CONTAINER" 2>&1)
  echo "sandbox $CONTAINER: $sandbox; the run is not recorded as done, so the next pulumi up runs it again" >&2
  exit "$status"
fi
`;
}

export class AgentRun extends pulumi.ComponentResource {
  /** The agent's final answer. */
  public readonly resultText: pulumi.Output<string>;
  public readonly success: pulumi.Output<boolean>;
  public readonly turns: pulumi.Output<number>;
  public readonly durationMs: pulumi.Output<number>;
  /** Reported cost in USD, when the agent reports one. */
  public readonly costUsd: pulumi.Output<number | undefined>;

  constructor(name: string, args: AgentRunArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-sandbox:index:AgentRun", name, {}, opts);
    const run = new command.local.Command(
      name,
      {
        create: agentRunScript(args.agent, args.run, args.dockerEnv),
        // A prompt from another resource is known only now; the config's own were checked non-empty already.
        stdin: pulumi.output(args.run.prompt).apply((prompt) => {
          if (prompt === "") throw new Error(`runs ${args.run.name}: the prompt is empty; the resource it came from gave an empty value`);
          return prompt;
        }),
        environment: { ...args.dockerEnv, AGENT_USER: args.agentUser, CONTAINER: args.containerName },
        triggers: args.run.triggers,
        // The stream is the stdout output; printing it again into the Pulumi log adds noise, not information.
        logging: "stderr",
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    const summary: pulumi.Output<AgentRunSummary> = run.stdout.apply((stdout) => args.agent.parseOutput(stdout));
    this.resultText = summary.resultText;
    this.success = summary.success;
    this.turns = summary.turns;
    this.durationMs = summary.durationMs;
    this.costUsd = summary.apply((value) => value.costUsd);
    this.registerOutputs({
      resultText: this.resultText,
      success: this.success,
      turns: this.turns,
      durationMs: this.durationMs,
      costUsd: this.costUsd,
    });
  }
}
