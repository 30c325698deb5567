/**
 * One hardened sandbox: a container that runs the agent image as a non-root user with every capability
 * dropped, a read-only root, resource limits, its own network, the developer's folder at /workspace and
 * credentials in a read-only volume. The agent's home is a named volume, so its config and a subscription
 * login survive replacement of the container.
 */
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_CPUS, sizeToMegabytes, type SandboxConfig } from "./config";
import { ACKNOWLEDGED_UNSAFE_LABEL, SECRETS_PATH, UNSAFE_ACKNOWLEDGEMENTS, type UnsafeAcknowledgement } from "./host-paths";
import { labelsFor, providerLabels, sandboxObjectNames, type StackIdentity } from "./naming";
import { cpuLimitArgs, CREATED_STOPPED, REPLACE_ON_CHANGES, startCommandArgs } from "./container-start";
import { egressPolicyFor, healthProbeEnvironment, proxyEnvironment, PROXY_URL, sandboxNetworkSettings } from "./egress";
import { EgressProxy } from "./egress-proxy";
import { AGENT_HOME, MAX_DISK_PERCENT_ENV, TMP_PATH, WORKSPACE_PATH } from "./sandbox-contract";
import { humanDockerCommand } from "./shell";

const HEALTHCHECK_COMMAND = "/usr/local/bin/agent-healthcheck";
const TMP_SIZE_BYTES = 1024 * 1024 * 1024;
/**
 * Claude Code defaults for a sandbox: the image pins the CLI version, so no self-update; and no
 * non-essential traffic (telemetry, preconnects), so the agent talks only to its API. Config env wins.
 */
export const AGENT_ENV_DEFAULTS: Record<string, string> = {
  DISABLE_AUTOUPDATER: "1",
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
};

export interface AgentSandboxArgs {
  readonly identity: StackIdentity;
  /** Validated sandbox config. */
  readonly sandbox: SandboxConfig;
  /** Immutable image ID (`sha256:…`) of the agent image. */
  readonly imageId: pulumi.Input<string>;
  /** UID/GID the image's agent user was built with. */
  readonly agentUid: number;
  readonly agentGid: number;
  /** The stack's credentials volume, mounted read-only at /run/agent-secrets. */
  readonly credentialsVolume: pulumi.Input<string>;
  /** Resources that must be complete before the sandbox starts (the credentials being written). */
  readonly startAfter: pulumi.Input<pulumi.Resource>[];
  /** Environment the docker CLI needs to reach the engine (DOCKER_HOST…); empty for the local engine. */
  readonly dockerEnv: Record<string, string>;
  /** Image ID of the egress proxy image; required when the sandbox's egress mode is allowlist. */
  readonly egressProxyImageId?: pulumi.Input<string>;
}

export interface ContainerRefs {
  readonly imageId: pulumi.Input<string>;
  /** The sandbox's own network; absent when it has none (egress mode none, or the host network). */
  readonly networkName?: pulumi.Input<string>;
  readonly homeVolume: pulumi.Input<string>;
  readonly credentialsVolume: pulumi.Input<string>;
}

function mountsFor(sandbox: SandboxConfig, refs: ContainerRefs): docker.types.input.ContainerMount[] {
  const mounts: docker.types.input.ContainerMount[] = [
    { type: "bind", source: sandbox.workspace, target: WORKSPACE_PATH, readOnly: sandbox.mode === "ro" },
    { type: "volume", source: refs.homeVolume, target: AGENT_HOME },
    { type: "volume", source: refs.credentialsVolume, target: SECRETS_PATH, readOnly: true },
    { type: "tmpfs", target: TMP_PATH, tmpfsOptions: { sizeBytes: TMP_SIZE_BYTES, mode: 0o1777 } },
    ...sandbox.mounts.map((mount) => ({ type: "bind", source: mount.source, target: mount.target, readOnly: mount.readOnly })),
  ];
  if (sandbox.dockerSocket) mounts.push({ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" });
  return mounts;
}

/**
 * Where the sandbox's traffic can go. allowlist: only its internal network, where the egress proxy is the
 * one way out (host ports go through the proxy too); open: an ordinary bridge, with the host reachable as
 * host.docker.internal; none: no network interface but loopback.
 */
function networkArgsFor(sandbox: SandboxConfig, networkName: pulumi.Input<string> | undefined): Partial<docker.ContainerArgs> {
  if (sandbox.hostNetwork) return { networkMode: "host" };
  if (sandbox.egress.mode === "none" || networkName === undefined) return { networkMode: "none" };
  const attached = { networksAdvanced: [{ name: networkName, aliases: [sandbox.name] }] };
  return sandbox.egress.mode === "open" ? { ...attached, hosts: [{ host: "host.docker.internal", ip: "host-gateway" }] } : attached;
}

/** `uid:gid` the sandbox's processes run as: the image's agent user, or root when acknowledged. */
export function agentUserOf(sandbox: SandboxConfig, agent: { uid: number; gid: number }): string {
  return sandbox.runAsRoot ? "0:0" : `${agent.uid}:${agent.gid}`;
}

/** Everything the sandbox container is, as docker.Container inputs: the hardening lives here. */
export function containerArgsFor(identity: StackIdentity, sandbox: SandboxConfig, agent: { uid: number; gid: number }, refs: ContainerRefs): docker.ContainerArgs {
  const memory = sizeToMegabytes(sandbox.resources.memory);
  const health = sandbox.healthcheck;
  const egressEnv =
    sandbox.egress.mode === "allowlist" && !sandbox.hostNetwork ? { ...proxyEnvironment(PROXY_URL), ...healthProbeEnvironment(sandbox.egress, sandbox.agent) } : {};
  const envs = Object.entries({ ...AGENT_ENV_DEFAULTS, ...sandbox.env, ...egressEnv, [MAX_DISK_PERCENT_ENV]: String(health.maxDiskPercent) })
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value}`);
  return {
    name: sandboxObjectNames(identity, sandbox.name).container,
    hostname: sandbox.name,
    image: refs.imageId,
    // The container idles; agents run through `docker exec`, so a run never depends on the image's CMD.
    command: ["sleep", "infinity"],
    user: agentUserOf(sandbox, agent),
    workingDir: WORKSPACE_PATH,
    envs,
    capabilities: { drops: ["ALL"], adds: sandbox.capAdd },
    securityOpts: ["no-new-privileges:true"],
    readOnly: true,
    privileged: sandbox.privileged,
    init: true,
    memory,
    memorySwap: memory + sizeToMegabytes(sandbox.resources.swap),
    ...cpuLimitArgs(sandbox.resources.cpus ?? DEFAULT_CPUS),
    ulimits: [{ name: "nofile", soft: sandbox.resources.openFiles, hard: sandbox.resources.openFiles }],
    mounts: mountsFor(sandbox, refs),
    ...networkArgsFor(sandbox, refs.networkName),
    pidMode: sandbox.hostPid ? "host" : undefined,
    ipcMode: sandbox.hostIpc ? "host" : "private",
    labels: providerLabels({ ...labelsFor(identity, sandbox.name), ...acknowledgementLabel(sandbox) }),
    restart: sandbox.restart,
    logDriver: "json-file",
    logOpts: { "max-size": "10m", "max-file": "3" },
    healthcheck: {
      tests: ["CMD", HEALTHCHECK_COMMAND],
      interval: health.interval,
      timeout: health.timeout,
      startPeriod: health.startPeriod,
      retries: health.retries,
    },
    ...CREATED_STOPPED,
    destroyGraceSeconds: 10,
  };
}

/**
 * The policy pack cannot read stack config, so the items this sandbox's config acknowledged travel on the
 * container as a label; the policy waives exactly those (contract in policy/rules.ts).
 */
export function acknowledgementLabel(sandbox: SandboxConfig): Record<string, string> {
  const items = sandbox.acknowledgeUnsafe.filter((item): item is UnsafeAcknowledgement => (UNSAFE_ACKNOWLEDGEMENTS as readonly string[]).includes(item));
  return items.length > 0 ? { [ACKNOWLEDGED_UNSAFE_LABEL]: [...new Set(items)].sort().join(",") } : {};
}

export class AgentSandbox extends pulumi.ComponentResource {
  /** Physical container name. */
  public readonly containerName: pulumi.Output<string>;
  /** The sandbox's own network, when it has one. */
  public readonly networkName?: pulumi.Output<string>;
  /** The command that prints the requests its egress proxy refused (allowlist mode). */
  public readonly deniedLogCommand?: string;
  public readonly homeVolumeName: pulumi.Output<string>;
  /** `uid:gid` the agent runs as inside this sandbox. */
  public readonly agentUser: string;
  /** Completes once the container runs with its pids limit and is healthy; agent runs depend on it. */
  public readonly ready: command.local.Command;
  /** What a person types to open a shell in the sandbox. */
  public readonly shellCommand: string;
  /** What a person types to run the agent by hand inside the sandbox. */
  public readonly agentCommand: string;

  constructor(name: string, args: AgentSandboxArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-sandbox:index:AgentSandbox", name, {}, opts);
    const { identity, sandbox } = args;
    const names = sandboxObjectNames(identity, sandbox.name);
    const labels = providerLabels(labelsFor(identity, sandbox.name));
    const engine = { parent: this };

    const egressMode = sandbox.hostNetwork ? "host" : sandbox.egress.mode;
    const network =
      egressMode === "allowlist" || egressMode === "open"
        ? new docker.Network(`${name}-net`, { name: names.network, driver: "bridge", labels, ...sandboxNetworkSettings(egressMode) }, engine)
        : undefined;
    let proxy: EgressProxy | undefined;
    if (network && egressMode === "allowlist") {
      if (!args.egressProxyImageId) throw new Error(`sandbox ${sandbox.name}: egress mode allowlist needs the egress proxy image`);
      proxy = new EgressProxy(
        `${name}-egress`,
        { identity, sandboxName: sandbox.name, policy: egressPolicyFor(sandbox.egress, sandbox.agent), internalNetwork: network.name, imageId: args.egressProxyImageId, dockerEnv: args.dockerEnv },
        { parent: this },
      );
    }
    const home = new docker.Volume(`${name}-home`, { name: names.home, labels }, engine);

    const agent = { uid: args.agentUid, gid: args.agentGid };
    const agentUser = agentUserOf(sandbox, agent);

    const container = new docker.Container(
      name,
      containerArgsFor(identity, sandbox, agent, {
        imageId: args.imageId,
        networkName: network?.name,
        homeVolume: home.name,
        credentialsVolume: args.credentialsVolume,
      }),
      { ...engine, replaceOnChanges: REPLACE_ON_CHANGES, deleteBeforeReplace: true },
    );

    this.ready = new command.local.Command(
      `${name}-start`,
      startCommandArgs(container, { pidsLimit: sandbox.resources.pids, health: sandbox.healthcheck, dockerEnv: args.dockerEnv }),
      { parent: this, dependsOn: [...args.startAfter, ...(proxy ? [proxy.ready] : [])] },
    );

    const exec = ["exec", "-it", "-u", agentUser, "-w", WORKSPACE_PATH, names.container];
    this.shellCommand = humanDockerCommand(args.dockerEnv, [...exec, "bash"]);
    this.agentCommand = humanDockerCommand(args.dockerEnv, [...exec, "agent-exec", "claude"]);
    this.agentUser = agentUser;
    this.containerName = container.name;
    this.networkName = network?.name;
    this.deniedLogCommand = proxy?.deniedLogCommand;
    this.homeVolumeName = home.name;
    this.registerOutputs({
      containerName: this.containerName,
      networkName: this.networkName,
      homeVolumeName: this.homeVolumeName,
      deniedLogCommand: this.deniedLogCommand,
      shellCommand: this.shellCommand,
      agentCommand: this.agentCommand,
    });
  }
}
