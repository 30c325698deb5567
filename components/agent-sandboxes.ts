/**
 * AgentSandboxes: the whole of agent-sandbox as one component. It validates its arguments (the stack
 * config's shape) before declaring anything, then declares the Docker providers, the agent image, the
 * egress proxy image, the credentials volume, one hardened sandbox per entry and the agent runs.
 */
import * as docker from "@pulumi/docker";
import * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { type Agent, API_PROVIDERS, agentProfile, DEFAULT_AGENT } from "./agents";
import type { AgentSandboxesArgs } from "./config/args";
import { resolveArgs, secretsPresent } from "./config/resolve-args";
import { credentialProxyPlanFor } from "./credentials/plan";
import { engineClient } from "./engine/client";
import { buildProviderArgs, dockerProviderArgs } from "./engine/providers";
import { AgentImage } from "./image/agent-image";
import { agentSuffix, proxyImageTag } from "./image/build-plan";
import { ProxyImage } from "./image/proxy-image";
import { declareClusterSandboxes } from "./kubernetes/cluster-stack";
import { clusterNameProblems } from "./kubernetes/naming";
import { imageAgent, packageFile } from "./package-files";
import { AgentRun } from "./runs/agent-run";
import type { RunConfig } from "./runs/config";
import { declareDockerSandboxes } from "./sandbox/docker-stack";
import { sandboxTopology } from "./sandbox/topology";
import { ConfigError } from "./values/config-error";

/** The API providers in the order the proxy secrets writer reads their keys. */
const PROVIDERS = Object.values(API_PROVIDERS);

/** The agents whose images the stack builds: those its sandboxes run, or the default agent's when it has none. */
function imageAgents(sandboxes: readonly { readonly agent: Agent }[]): Agent[] {
  const agents = [...new Set(sandboxes.map((sandbox) => sandbox.agent))];
  return agents.length > 0 ? agents : [DEFAULT_AGENT];
}

/** The agent image the sandboxes run. */
export interface AgentImageInfo {
  /** `repository:tag@sha256:…` when pushed, else the local tag. */
  readonly ref: string;
  /** Manifest digest (of the index for multi-arch builds). */
  readonly digest: string;
  /** The immutable image ID (`sha256:…`) the sandboxes run. */
  readonly imageId: string;
  /** The tags it was given (the index's, for multi-arch builds). */
  readonly tags: string[];
}

/** One sandbox, and the commands a person types to use it. */
export interface SandboxInfo {
  /** Container name on the engine. */
  readonly container: string;
  /** The agent CLI it runs (absent in the outputs of a stack last brought up before there were several agents). */
  readonly agent?: string;
  /** The image ID (`sha256:…`) its agent's image was last built as: what the sandbox should be running (absent as `agent` is). */
  readonly imageId?: string;
  /** The manifest digest (`sha256:…`) of that image, which a cluster pulls it by and reports for the pod (absent as `agent` is). */
  readonly imageDigest?: string;
  /** Its own network; absent with egress mode none or the host network. */
  readonly network?: string;
  /** The agent's home volume: its config and logins survive a replaced container. */
  readonly homeVolume: string;
  /** Opens a shell in the sandbox. */
  readonly shell: string;
  /** Runs the agent interactively in the sandbox. */
  readonly runAgent: string;
  /** Prints the requests its egress proxy refused (allowlist mode). */
  readonly deniedEgressLog?: string;
  /** Clone mode: brings the agent's commits into the host repository as branches `sandbox/<name>/<branch>`. */
  readonly bringBack?: string;
}

/** The outcome of one agent run. */
export interface RunInfo {
  /** Whether the agent finished its task without error. */
  readonly success: boolean;
  /** The agent's final answer. */
  readonly result: string;
  /** Agent turns the run took. */
  readonly turns: number;
  /** How long the run took, as the agent reports it. */
  readonly durationMs: number;
  /** Reported cost in USD, when the agent reports one. */
  readonly costUsd?: number;
  /** The agent session the run ended in; another run's `resume` continues it. */
  readonly sessionId?: string;
  /** Files of the risky classes (git hooks and config, editor tasks, CI workflows, .envrc, package.json, Makefile…) the run created, changed or removed: review these first. */
  readonly riskyChanges: string[];
}

/** Hardened Docker sandboxes for AI coding agents: the agent image, one sandbox per entry, and agent runs. */
export class AgentSandboxes extends pulumi.ComponentResource {
  /** The default agent's image (in a stack whose sandboxes all run another agent, the first one's); each sandbox's is its `imageId`. */
  public readonly agentImage: pulumi.Output<AgentImageInfo>;
  /** The sandboxes by name. */
  public readonly sandboxes: pulumi.Output<{ [name: string]: SandboxInfo }>;
  /** The agent runs' outcomes by name. */
  public readonly runs: pulumi.Output<{ [name: string]: RunInfo }>;

  constructor(name: string, args: AgentSandboxesArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validated before anything is registered, the component itself included.
    const { config, secrets, extraCaCerts, protectedPaths, warnings } = resolveArgs(args);
    const identity = { project: pulumi.getProject(), stack: pulumi.getStack() };
    const nameProblems = config.kubernetes
      ? clusterNameProblems(
          identity,
          config.sandboxes.map((sandbox) => sandbox.name),
        )
      : [];
    if (nameProblems.length > 0) throw new ConfigError(nameProblems);
    super("agent-sandbox:index:AgentSandboxes", name, {}, opts);
    for (const warning of warnings) pulumi.log.warn(warning, this);
    const engine = engineClient(config.docker);
    // Stacks made by the program before this component hold these resources at the stack's top level; the
    // alias keeps them (children follow their parent's alias), so no replacement loses a home volume's logins.
    const child = { parent: this, aliases: [{ parent: pulumi.rootStackResource }] };
    const providers = [
      new docker.Provider("engine", dockerProviderArgs({ docker: config.docker, registry: config.image.registry }, secrets.registryPassword), child),
      new dockerbuild.Provider("builder", buildProviderArgs({ docker: config.docker }), child),
    ];
    const inside = { ...child, providers };

    // One image per agent the sandboxes run (the default agent's when there are none), sharing every layer below the CLI.
    const images = new Map<Agent, AgentImage>();
    for (const agent of imageAgents(config.sandboxes)) {
      images.set(
        agent,
        new AgentImage(
          `agent${agentSuffix(agent)}`,
          {
            image: config.image,
            agent: imageAgent(agent),
            identity,
            contextDir: packageFile("docker/agent"),
            registryPassword: secrets.registryPassword,
            extraCaCerts,
          },
          inside,
        ),
      );
    }
    const image = images.get(DEFAULT_AGENT) ?? [...images.values()][0];
    const sandboxAgents = new Map(config.sandboxes.map((sandbox) => [sandbox.name, sandbox.agent]));
    const present = secretsPresent(secrets);
    const topologies = new Map(config.sandboxes.map((sandbox) => [sandbox.name, sandboxTopology(sandbox)]));
    const plans = new Map(
      config.sandboxes.flatMap((sandbox) =>
        topologies.get(sandbox.name)!.credentialProxy ? [[sandbox.name, credentialProxyPlanFor(sandbox, present)] as const] : [],
      ),
    );
    // One proxy image per stack, built only when some sandbox has an egress proxy or a credential proxy.
    const proxyImage = [...topologies.values()].some((topology) => topology.egressProxy || topology.credentialProxy)
      ? new ProxyImage(
          "egress-proxy",
          {
            identity,
            baseImage: config.image.baseImage,
            contextDir: packageFile("docker/proxies"),
            extraCaCerts,
            ...(config.kubernetes ? { pushTo: proxyImageTag(config.image, identity) } : {}),
          },
          inside,
        )
      : undefined;
    const sandboxes = config.kubernetes
      ? declareClusterSandboxes(
          {
            identity,
            kubernetes: config.kubernetes,
            sandboxes: config.sandboxes,
            imageFor: (sandbox) => images.get(sandbox.agent)!.ref,
            proxyImage: proxyImage?.ref,
            agentUid: config.image.agentUid,
            agentGid: config.image.agentGid,
            plans,
            providers: PROVIDERS,
            apiKeys: PROVIDERS.map((provider) => secrets[provider.secretKey]),
            gitToken: secrets.gitToken,
            extraCaCerts,
          },
          child,
        )
      : declareDockerSandboxes(
          {
            sandboxes: config.sandboxes,
            agentUid: config.image.agentUid,
            agentGid: config.image.agentGid,
            identity,
            images,
            image,
            plans,
            proxyImage,
            providers: PROVIDERS,
            apiKeys: PROVIDERS.map((provider) => secrets[provider.secretKey]),
            gitToken: secrets.gitToken,
            present,
            extraCaCerts,
            protectedPaths,
            engine,
          },
          inside,
        );
    // A run that resumes another comes after it, so the runs are declared along their session chains.
    const declared = new Map<string, AgentRun>();
    const declare = (run: RunConfig): AgentRun => {
      const existing = declared.get(run.name);
      if (existing) return existing;
      const resumed = run.resume ? declare(config.runs.find((candidate) => candidate.name === run.resume)!) : undefined;
      // The one run continuing a session goes after the runs forking it, so each fork starts from exactly
      // the session the resumed run left, not from whatever the continuation had appended by then.
      const forks = run.resume && !run.fork ? config.runs.filter((other) => other.resume === run.resume && other.fork).map(declare) : [];
      const sandbox = sandboxes.get(run.sandbox)!;
      const agent = agentProfile(config.sandboxes.find((candidate) => candidate.name === run.sandbox)!.agent);
      const agentRun = new AgentRun(
        `run-${run.name}`,
        {
          run,
          agent,
          containerName: sandbox.containerName,
          agentUser: sandbox.agentUser,
          engine,
          exec: sandbox.exec,
          dependsOn: [sandbox.ready, ...forks.map((fork) => fork.command)],
          container: sandbox.runContainer,
          pod: sandbox.runPod,
          resumes: resumed && run.resume ? { name: run.resume, sessionId: resumed.sessionId, resource: resumed.command } : undefined,
        },
        inside,
      );
      declared.set(run.name, agentRun);
      return agentRun;
    };
    const runs = config.runs.map(declare);

    this.agentImage = pulumi.output({ ref: image.ref, digest: image.digest, imageId: image.imageId, tags: image.tags });
    this.sandboxes = pulumi.output(
      Object.fromEntries(
        [...sandboxes].map(([sandboxName, sandbox]) => [
          sandboxName,
          {
            container: sandbox.containerName,
            agent: sandboxAgents.get(sandboxName)!,
            imageId: images.get(sandboxAgents.get(sandboxName)!)!.imageId,
            imageDigest: images.get(sandboxAgents.get(sandboxName)!)!.digest,
            network: sandbox.networkName,
            homeVolume: sandbox.homeVolumeName,
            shell: sandbox.shellCommand,
            runAgent: sandbox.agentCommand,
            deniedEgressLog: sandbox.deniedLogCommand,
            bringBack: sandbox.bringBackCommand,
          },
        ]),
      ),
    );
    this.runs = pulumi.output(
      Object.fromEntries(
        config.runs.map((run, index) => [
          run.name,
          {
            success: runs[index].success,
            result: runs[index].resultText,
            turns: runs[index].turns,
            durationMs: runs[index].durationMs,
            costUsd: runs[index].costUsd,
            sessionId: runs[index].sessionId,
            riskyChanges: runs[index].riskyChanges,
          },
        ]),
      ),
    );
    this.registerOutputs({ agentImage: this.agentImage, sandboxes: this.sandboxes, runs: this.runs });
  }
}
