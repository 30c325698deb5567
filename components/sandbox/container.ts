/**
 * Everything a sandbox container is, as docker.Container inputs: the hardening baseline
 * (hardening/baseline.ts) plus what is the sandbox's own — its mounts, network, user, environment and
 * the unsafe settings its config acknowledged.
 */
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { Engine } from "../engine/engine";
import { labelsFor, providerLabels, type StackIdentity, sandboxObjectNames } from "../engine/naming";
import { ACKNOWLEDGED_UNSAFE_LABEL, SECRETS_PATH, UNSAFE_ACKNOWLEDGEMENTS, type UnsafeAcknowledgement } from "../guardrails/host-paths";
import { hardenedContainerArgs } from "../hardening/baseline";
import { pidsLimitEnvironment } from "../hardening/container-start";
import { enginePidsLimit } from "../hardening/isolation";
import { hostWorkspace, type SandboxConfig } from "./config";
import { AGENT_HOME, HOST_REPOSITORY_PATH, TMP_PATH, WORKSPACE_PATH } from "./contract";
import { describeSandbox, IDLE_COMMAND, sandboxUser, TMP_SIZE_BYTES } from "./description";
import { gvisorNetworkFor, proxyHostEntries } from "./gvisor-network";
import type { SandboxTopology } from "./topology";
import { protectedMounts, unprotectedLabel } from "./workspace-protection";

export interface ContainerRefs {
  /** The engine the container runs on: its socket (dockerSocket) and its name for its host (open network). */
  readonly engine: Engine;
  readonly imageId: pulumi.Input<string>;
  /** The sandbox's own network; absent when it has none (egress mode none, or the host network). */
  readonly networkName?: pulumi.Input<string>;
  /** Its gateway, read only by an engine that names its host by address (an open network's sandbox). */
  readonly networkGateway?: () => pulumi.Input<string>;
  readonly homeVolume: pulumi.Input<string>;
  /** The sandbox credentials volume (the git token), only where the config acknowledged credentials-in-sandbox. */
  readonly credentialsVolume?: pulumi.Input<string>;
  /** The protected paths that exist in the workspace (resolve-args.ts), mounted read-only over it. */
  readonly protectedPaths: readonly string[];
  /** Clone mode: the volume holding the sandbox's own clone. */
  readonly cloneVolume?: pulumi.Input<string>;
}

/** The workspace: the host folder bound (read-only in ro mode, its protected paths read-only in rw), or in clone mode the clone's volume beside the host repository read-only. */
function workspaceMounts(sandbox: SandboxConfig, refs: ContainerRefs): docker.types.input.ContainerMount[] {
  const workspace = hostWorkspace(sandbox);
  if (sandbox.mode === "clone") {
    if (refs.cloneVolume === undefined) throw new Error(`sandbox ${sandbox.name}: clone mode needs its clone volume`);
    return [
      { type: "volume", source: refs.cloneVolume, target: WORKSPACE_PATH },
      { type: "bind", source: workspace, target: HOST_REPOSITORY_PATH, readOnly: true },
    ];
  }
  return [{ type: "bind", source: workspace, target: WORKSPACE_PATH, readOnly: sandbox.mode === "ro" }, ...protectedMounts(workspace, refs.protectedPaths)];
}

function mountsFor(sandbox: SandboxConfig, refs: ContainerRefs): docker.types.input.ContainerMount[] {
  const mounts: docker.types.input.ContainerMount[] = [
    ...workspaceMounts(sandbox, refs),
    { type: "volume", source: refs.homeVolume, target: AGENT_HOME },
    ...(refs.credentialsVolume ? [{ type: "volume", source: refs.credentialsVolume, target: SECRETS_PATH, readOnly: true }] : []),
    { type: "tmpfs", target: TMP_PATH, tmpfsOptions: { sizeBytes: TMP_SIZE_BYTES, mode: 0o1777 } },
    ...sandbox.mounts.map((mount) => ({ type: "bind", source: mount.source, target: mount.target, readOnly: mount.readOnly })),
  ];
  const [socket] = refs.engine.sockets.paths;
  if (sandbox.dockerSocket) mounts.push({ type: "bind", source: socket, target: socket });
  return mounts;
}

/**
 * Where the sandbox's traffic can go. allowlist: only its internal network, where the egress proxy is the
 * one way out (host ports go through the proxy too); open: an ordinary bridge, with the host reachable as
 * the engine's name for it (host.docker.internal); none: no network interface but loopback.
 */
function networkArgsFor(identity: StackIdentity, sandbox: SandboxConfig, topology: SandboxTopology, refs: ContainerRefs): Partial<docker.ContainerArgs> {
  const { networkName } = refs;
  if (topology.network === "host") return { networkMode: "host" };
  if (!topology.ownNetwork || networkName === undefined) return { networkMode: "none" };
  const attached = { networksAdvanced: [{ name: networkName, aliases: [sandbox.name] }] };
  if (topology.network === "open") {
    const gateway = refs.networkGateway ?? missingGateway(sandbox.name);
    return { ...attached, hosts: [refs.engine.hostGatewayEntry(gateway)] };
  }
  const gvisorNetwork = gvisorNetworkFor(identity, sandbox);
  return gvisorNetwork ? { ...attached, hosts: proxyHostEntries(gvisorNetwork, topology) } : attached;
}

/** A gateway asked of a sandbox declared without its network's: a bug of the caller, named when the engine needs it. */
const missingGateway = (sandbox: string) => (): never => {
  throw new Error(`sandbox ${sandbox}: its engine names the host by its network's gateway, which was not given`);
};

/** `uid:gid` the sandbox's processes run as: the image's agent user, or root when acknowledged. */
export function agentUserOf(sandbox: SandboxConfig, agent: { uid: number; gid: number }): string {
  const user = sandboxUser(sandbox, agent);
  return `${user.uid}:${user.gid}`;
}

/** Everything the sandbox container is, as docker.Container inputs: the hardening lives here. */
export function containerArgsFor(
  identity: StackIdentity,
  sandbox: SandboxConfig,
  agent: { uid: number; gid: number },
  refs: ContainerRefs,
): docker.ContainerArgs {
  const description = describeSandbox(sandbox, agent);
  const envs = description.env
    .map(([name, value]) => `${name}=${value}`)
    // Last, so the engine's hook reads it over any spelling of the same name in sandbox.env.
    .concat(pidsLimitEnvironment(refs.engine, enginePidsLimit(description.pids, sandbox.isolation)));
  return {
    name: sandboxObjectNames(identity, sandbox.name).container,
    hostname: sandbox.name,
    image: refs.imageId,
    command: [...IDLE_COMMAND],
    user: agentUserOf(sandbox, agent),
    workingDir: WORKSPACE_PATH,
    envs,
    ...hardenedContainerArgs({
      capAdd: sandbox.capAdd,
      limits: description.limits,
      healthcheckCommand: description.health.command,
      health: description.health.timings,
      isolation: sandbox.isolation,
    }),
    privileged: sandbox.privileged,
    init: true,
    mounts: mountsFor(sandbox, refs),
    ...networkArgsFor(identity, sandbox, description.topology, refs),
    pidMode: sandbox.hostPid ? "host" : undefined,
    ipcMode: sandbox.hostIpc ? "host" : "private",
    labels: providerLabels({ ...labelsFor(identity, sandbox.name), ...acknowledgementLabel(sandbox), ...unprotectedLabel(sandbox) }),
    restart: sandbox.restart,
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
