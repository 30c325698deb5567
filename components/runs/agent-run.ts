/**
 * One agent execution: the agent CLI run non-interactively as the agent user in /workspace, in the sandbox
 * (`docker exec`) or in a fresh container made for the run (`ephemeral`), and its output read by the
 * agent's own module into stack outputs. The prompt travels on stdin, so no shell ever reads it; the API key
 * never passes through here at all (the sandbox's credential proxy adds it, outside the sandbox).
 */
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { AgentProfile } from "../agents";
import type { AgentRunSummary } from "../agents/run-summary";
import type { EngineClient } from "../engine/client";
import { readinessEnvironment } from "../hardening/container-start";
import type { SandboxExec } from "../sandbox/exec";
import type { RunContainerSource } from "../sandbox/run-container";
import type { RunPodSource } from "../sandbox/run-pod";
import type { RunConfig } from "./config";
import { ephemeralPodScript, removeRunJobsScript, runJobManifest } from "./ephemeral-pod";
import { changedPaths, manifestScript, reportScript } from "./risky-changes";
import { agentRunScript, ephemeralRunScript, removeRunContainersScript } from "./run-script";

export { agentRunScript, ephemeralRunScript } from "./run-script";

/** The run whose session this one continues. */
export interface ResumedRun {
  readonly name: string;
  readonly sessionId: pulumi.Output<string | undefined>;
  /** The resource that ran it: this run comes after it. */
  readonly resource: pulumi.Resource;
}

export interface AgentRunArgs {
  /** Validated run config. */
  readonly run: RunConfig;
  /** The agent CLI the sandbox runs (its sandbox's `agent`). */
  readonly agent: AgentProfile;
  /** Physical name of the sandbox container: the run's container, or the prefix of its ephemeral ones. */
  readonly containerName: pulumi.Input<string>;
  /** `uid:gid` the agent runs as. */
  readonly agentUser: string;
  /** The stack's engine, which an ephemeral run's container is made on. */
  readonly engine: EngineClient;
  /** How a command reaches the sandbox: the run's agent, and its change reports. */
  readonly exec: SandboxExec;
  /** Resources that must be complete first: the sandbox's start command. */
  readonly dependsOn: pulumi.Input<pulumi.Resource>[];
  /** The sandbox's container spec: an ephemeral run on an engine makes its container from it. */
  readonly container?: RunContainerSource;
  /** The sandbox's pod spec: an ephemeral run on a cluster makes its Job from it. */
  readonly pod?: RunPodSource;
  /** Set when the run's config names `resume`. */
  readonly resumes?: ResumedRun;
}

export class AgentRun extends pulumi.ComponentResource {
  /** The agent's final answer. */
  public readonly resultText: pulumi.Output<string>;
  public readonly success: pulumi.Output<boolean>;
  public readonly turns: pulumi.Output<number>;
  public readonly durationMs: pulumi.Output<number>;
  /** Reported cost in USD, when the agent reports one. */
  public readonly costUsd: pulumi.Output<number | undefined>;
  /** The agent session the run ended in; a later run's `resume` continues it. */
  public readonly sessionId: pulumi.Output<string | undefined>;
  /** The command that runs the agent. */
  public readonly command: command.local.Command;
  /** Files of the risky classes (hooks, git config, editor tasks, CI workflows, package scripts…) the run created, changed or removed. */
  public readonly riskyChanges: pulumi.Output<string[]>;

  constructor(name: string, args: AgentRunArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-sandbox:index:AgentRun", name, {}, opts);
    const { run, agent, engine } = args;
    const resumedSession = args.resumes
      ? args.resumes.sessionId.apply((id) => {
          if (!id) throw new Error(`runs ${run.name}: resume: run "${args.resumes!.name}" reported no session id to resume; see its output`);
          return id;
        })
      : pulumi.output(undefined);
    const container = run.ephemeral ? args.container : undefined;
    const pod = run.ephemeral ? args.pod : undefined;
    if (run.ephemeral && !container && !pod) throw new Error(`runs ${run.name}: an ephemeral run needs its sandbox's container or pod spec`);
    const create = pulumi.all([resumedSession, container?.spec()]).apply(([resumeSessionId, spec]) => {
      const request = { ...run, resumeSessionId, forkSession: run.fork };
      if (spec && container) return ephemeralRunScript(agent, request, engine, { runName: run.name, sandboxSpec: spec, sandboxLabels: container.labels });
      return pod ? ephemeralPodScript(agent, request, args.exec, pod, run.name) : agentRunScript(agent, request, args.exec);
    });
    // Kept containers (Jobs) outlive the run's own replacements (a trigger replaces it); they go when the run leaves the stack.
    const removeAll = container ? removeRunContainersScript(engine, container.labels, run.name) : pod ? removeRunJobsScript(pod, run.name) : undefined;
    const cleanup = removeAll
      ? new command.local.Command(`${name}-containers`, { delete: removeAll, environment: container ? engine.env : {}, logging: "stderr" }, { parent: this })
      : undefined;
    const ephemeralEnv: Record<string, pulumi.Input<string>> = container
      ? {
          CONTAINER_PREFIX: pulumi.interpolate`${args.containerName}-run-${run.name}`,
          PIDS_LIMIT: String(container.pidsLimit),
          ...readinessEnvironment(container.health),
          KEEP_FINISHED: String(run.keepFinished),
        }
      : pod
        ? {
            // A Job's name is a label value too (63 at most): the run's name and a digest of its sandbox's labels.
            JOB_PREFIX: `${run.name}-${createHash("sha256").update(JSON.stringify(pod.labels)).digest("hex").slice(0, 8)}`,
            JOB_MANIFEST: pod.spec().apply((spec) => runJobManifest(pod, spec, run.name)),
            HEALTH_TIMEOUT: readinessEnvironment(pod.health).HEALTH_TIMEOUT,
            KEEP_FINISHED: String(run.keepFinished),
          }
        : { CONTAINER: args.containerName };
    // A prompt from another resource is known only now; the config's own were checked non-empty already.
    const stdin = pulumi.output(run.prompt).apply((prompt) => {
      if (prompt === "") throw new Error(`runs ${run.name}: the prompt is empty; the resource it came from gave an empty value`);
      return prompt;
    });
    // A new version of a prompt file replaces the run (a changed trigger) rather than updating it; it was
    // chosen before the command stopped taking its previous stream in PULUMI_COMMAND_STDOUT (see below).
    const promptFile = run.promptFileSha256 ? [`promptFile sha256:${run.promptFileSha256}`] : [];
    // A resumed run re-runs whenever the run it resumes did: that one's new session is a new history to continue.
    const triggers = [...run.triggers, ...promptFile, ...(args.resumes ? [resumedSession] : [])];
    // The workspace as it was just before the run: re-taken whenever an input that re-runs the run changes.
    const sandboxEnv = { ...args.exec.env, AGENT_USER: args.agentUser, CONTAINER: args.containerName };
    const baseline = new command.local.Command(
      `${name}-baseline`,
      { create: manifestScript(args.exec), environment: sandboxEnv, triggers: [create, stdin, ...triggers], logging: "none" },
      { parent: this, dependsOn: args.dependsOn },
    );
    this.command = new command.local.Command(
      name,
      {
        create,
        stdin,
        environment: { ...(container ? engine.env : args.exec.env), AGENT_USER: args.agentUser, ...ephemeralEnv },
        triggers,
        // The stream is the stdout output; printing it again into the Pulumi log adds noise, not information.
        logging: "stderr",
        // An update (a new prompt) re-runs create; the previous stream as PULUMI_COMMAND_STDOUT would pass 128 KiB.
        addPreviousOutputInEnv: false,
      },
      { parent: this, dependsOn: [...args.dependsOn, baseline, ...(cleanup ? [cleanup] : []), ...(args.resumes ? [args.resumes.resource] : [])] },
    );
    const report = new command.local.Command(
      `${name}-changes`,
      {
        create: reportScript(args.exec),
        environment: { ...sandboxEnv, BASELINE: baseline.stdout },
        // Each execution of the run prints a new stream (a new session), so its stdout marks a re-run.
        triggers: [this.command.id, this.command.stdout],
        logging: "none",
      },
      { parent: this, dependsOn: [this.command] },
    );
    this.riskyChanges = report.stdout.apply(changedPaths);
    const summary: pulumi.Output<AgentRunSummary> = this.command.stdout.apply((stdout) => agent.parseOutput(stdout));
    this.resultText = summary.resultText;
    this.success = summary.success;
    this.turns = summary.turns;
    this.durationMs = summary.durationMs;
    this.costUsd = summary.apply((value) => value.costUsd);
    this.sessionId = summary.apply((value) => value.sessionId);
    this.registerOutputs({
      resultText: this.resultText,
      success: this.success,
      turns: this.turns,
      durationMs: this.durationMs,
      costUsd: this.costUsd,
      sessionId: this.sessionId,
      riskyChanges: this.riskyChanges,
    });
  }
}
