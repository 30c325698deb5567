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
import { cleanEnvPrefix, shellWords } from "../engine/shell";
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

/**
 * The command the provider runs. The docker CLI starts from an empty environment (the provider would hand
 * it the Pulumi CLI's own, credentials included); a failing agent fails the resource with its result line.
 */
export function agentRunScript(agent: AgentProfile, run: RunConfig, dockerEnv: Record<string, string>): string {
  const exec = `${cleanEnvPrefix(dockerEnv)} docker exec -i -u "$AGENT_USER" -w ${WORKSPACE_PATH} "$CONTAINER" agent-exec ${shellWords(agent.cliArguments(run))}`;
  return `set -u
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
${exec} >"$out" 2>"$err"
status=$?
cat "$out"
if [ "$status" -ne 0 ]; then
  echo "agent run failed (exit $status):" >&2
  grep '"type":"result"' "$out" | tail -n 1 >&2
  tail -n 20 "$err" >&2
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
