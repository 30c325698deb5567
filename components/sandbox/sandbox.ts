/**
 * One hardened sandbox: a container that runs the agent image as a non-root user with every capability
 * dropped, a read-only root, resource limits, its own network, the developer's folder at /workspace and
 * credentials in a read-only volume. The agent's home is a named volume, so its config and a subscription
 * login survive replacement of the container.
 */
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { agentProfile } from "../agents";
import { type CredentialProxy, declareCredentialProxy } from "../credentials/credential-proxy";
import type { CredentialProxyPlan } from "../credentials/nginx-conf";
import { egressPolicyFor } from "../egress/config";
import { EgressProxy } from "../egress/egress-proxy";
import { sandboxNetworkSettings } from "../egress/network";
import { type EngineClient, typedCommand } from "../engine/client";
import { networkGateway } from "../engine/host-gateway";
import { labelsFor, providerLabels, type StackIdentity, sandboxObjectNames } from "../engine/naming";
import { containerOptions, containerWithUnreportedInputs, startCommandArgs } from "../hardening/container-start";
import { enginePidsLimit } from "../hardening/isolation";
import { bringBackCommand, cloneExecLine, cloneScript } from "./clone";
import { hostWorkspace, type SandboxConfig } from "./config";
import { agentUserOf, containerArgsFor } from "./container";
import { WORKSPACE_PATH } from "./contract";
import { engineExec, type SandboxExec } from "./exec";
import { gvisorNetworkFor } from "./gvisor-network";
import type { RunContainerSource } from "./run-container";
import { sandboxTopology } from "./topology";

export interface SandboxComponentArgs {
  readonly identity: StackIdentity;
  /** Validated sandbox config. */
  readonly sandbox: SandboxConfig;
  /** Immutable image ID (`sha256:…`) of the agent image. */
  readonly imageId: pulumi.Input<string>;
  /** UID/GID the image's agent user was built with. */
  readonly agentUid: number;
  readonly agentGid: number;
  /** The sandbox credentials volume (the git token), mounted read-only at /run/agent-secrets where the config acknowledged credentials-in-sandbox. */
  readonly credentialsVolume?: pulumi.Input<string>;
  /** The sandbox's credential proxy (credentialProxyPlanFor), with the stack's proxy secrets volume it reads. */
  readonly credentialProxy?: { readonly plan: CredentialProxyPlan; readonly secretsVolume: pulumi.Input<string> };
  /** Resources that must be complete before the sandbox and its proxies start (the secrets being written). */
  readonly startAfter: pulumi.Input<pulumi.Resource>[];
  /** The stack's engine, which its commands run on. */
  readonly engine: EngineClient;
  /** Image ID of the proxy image (egress and credential proxies); required when the sandbox has either. */
  readonly proxyImageId?: pulumi.Input<string>;
  /** The protected paths that exist in the workspace, mounted read-only over it. */
  readonly protectedPaths: readonly string[];
}

export class Sandbox extends pulumi.ComponentResource {
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
  /** Clone mode: what a person types to bring the agent's commits into the host repository as branches. */
  public readonly bringBackCommand?: string;
  /** The sandbox container's own spec, which an ephemeral run makes its container from. */
  public readonly runContainer: RunContainerSource;
  /** How runs reach the sandbox. */
  public readonly exec: SandboxExec;
  /** Its runs' containers are made from its container, not a pod. */
  public readonly runPod: undefined = undefined;

  constructor(name: string, args: SandboxComponentArgs, opts?: pulumi.ComponentResourceOptions) {
    // The type token keeps the name the class had, so existing stacks keep their sandboxes.
    super("agent-sandbox:index:AgentSandbox", name, {}, opts);
    const { identity, sandbox } = args;
    const names = sandboxObjectNames(identity, sandbox.name);
    const labels = providerLabels(labelsFor(identity, sandbox.name));
    const child = { parent: this };

    const topology = sandboxTopology(sandbox);
    const gvisorNetwork = gvisorNetworkFor(identity, sandbox);
    const network =
      topology.network === "allowlist" || topology.network === "open"
        ? new docker.Network(
            `${name}-net`,
            {
              name: names.network,
              labels,
              ...sandboxNetworkSettings(topology.network, args.engine, names.network),
              ...(gvisorNetwork
                ? { ipamConfigs: [{ subnet: gvisorNetwork.subnet, gateway: gvisorNetwork.gateway, ipRange: gvisorNetwork.dynamicRange }] }
                : {}),
            },
            { ...child, ignoreChanges: [...args.engine.unreportedNetworkInputs] },
          )
        : undefined;
    let proxy: EgressProxy | undefined;
    if (network && topology.egressProxy) {
      if (!args.proxyImageId) throw new Error(`sandbox ${sandbox.name}: egress mode allowlist needs the egress proxy image`);
      proxy = new EgressProxy(
        `${name}-egress`,
        {
          identity,
          sandboxName: sandbox.name,
          policy: egressPolicyFor(sandbox.egress, sandbox.agent, sandbox.auth),
          internalNetwork: network.name,
          internalAddress: gvisorNetwork?.egressProxyAddress,
          imageId: args.proxyImageId,
          engine: args.engine,
        },
        { parent: this },
      );
    }
    let credentialProxy: CredentialProxy | undefined;
    if (network && topology.credentialProxy) {
      if (!args.credentialProxy) throw new Error(`sandbox ${sandbox.name}: its topology has a credential proxy, but no plan and secrets were given for it`);
      if (!args.proxyImageId) throw new Error(`sandbox ${sandbox.name}: a credential proxy needs the proxy image`);
      credentialProxy = declareCredentialProxy(
        `${name}-credential-proxy`,
        {
          identity,
          plan: args.credentialProxy.plan,
          sandboxNetwork: network.name,
          sandboxAddress: gvisorNetwork?.credentialProxyAddress,
          outboundNetwork: proxy?.outboundNetworkName,
          outboundGateway: proxy?.outboundGateway ?? networkGateway(network),
          imageId: args.proxyImageId,
          secretsVolume: args.credentialProxy.secretsVolume,
          engine: args.engine,
          startAfter: args.startAfter,
        },
        this,
      );
    }
    const home = new docker.Volume(`${name}-home`, { name: names.home, labels }, child);
    const clone = sandbox.mode === "clone" ? new docker.Volume(`${name}-clone`, { name: names.clone, labels }, child) : undefined;

    const agent = { uid: args.agentUid, gid: args.agentGid };
    const agentUser = agentUserOf(sandbox, agent);

    const containerArgs = containerArgsFor(identity, sandbox, agent, {
      imageId: args.imageId,
      networkName: network?.name,
      ...(network ? { networkGateway: networkGateway(network) } : {}),
      homeVolume: home.name,
      credentialsVolume: args.credentialsVolume,
      protectedPaths: args.protectedPaths,
      cloneVolume: clone?.name,
      engine: args.engine,
    });
    const container = new docker.Container(name, containerWithUnreportedInputs(containerArgs, args.engine), { ...child, ...containerOptions(args.engine) });
    this.runContainer = {
      spec: () => pulumi.output(containerArgs),
      labels: labelsFor(identity, sandbox.name),
      pidsLimit: enginePidsLimit(sandbox.resources.pids, sandbox.isolation),
      health: sandbox.healthcheck,
    };

    const started = new command.local.Command(
      `${name}-start`,
      startCommandArgs(container, {
        pidsLimit: enginePidsLimit(sandbox.resources.pids, sandbox.isolation),
        health: sandbox.healthcheck,
        engine: args.engine,
      }),
      { parent: this, dependsOn: [...args.startAfter, ...(proxy ? [proxy.ready] : []), ...(credentialProxy ? [credentialProxy.ready] : [])] },
    );
    // In clone mode the sandbox is ready once its clone exists; runs start after that.
    this.ready = clone
      ? new command.local.Command(
          `${name}-clone`,
          {
            create: `set -eu\n${cloneExecLine(args.engine, agentUser, cloneScript(sandbox.cloneCopy))}`,
            environment: { ...args.engine.env, CONTAINER: container.name },
            triggers: [container.id],
          },
          { parent: this, dependsOn: [started] },
        )
      : started;

    const exec = ["exec", "-it", "-u", agentUser, "-w", WORKSPACE_PATH, names.container];
    this.shellCommand = typedCommand(args.engine, [...exec, "bash"]);
    this.agentCommand = typedCommand(args.engine, [...exec, "agent-exec", agentProfile(sandbox.agent).executable]);
    this.bringBackCommand = clone
      ? bringBackCommand(args.engine, { container: names.container, agentUser, hostRepository: hostWorkspace(sandbox), sandboxName: sandbox.name })
      : undefined;
    this.agentUser = agentUser;
    this.exec = engineExec(args.engine);
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
      bringBackCommand: this.bringBackCommand,
    });
  }
}
