/**
 * The egress proxy of one sandbox: a Squid container on the sandbox's internal network (where the sandbox
 * reaches it as http://egress-proxy:3128) and on an outbound network of its own, enforcing the sandbox's
 * allowlist outside the agent's container. One per sandbox, so sandboxes never share a network (they cannot
 * reach each other) and each has its own allowlist and its own log of refused requests.
 */
import type * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { EngineClient } from "../engine/client";
import { networkGateway } from "../engine/host-gateway";
import { labelsFor, providerLabels, ROLE_LABEL, type StackIdentity, sandboxObjectNames } from "../engine/naming";
import { hardenedContainerArgs } from "../hardening/baseline";
import { startedContainer } from "../hardening/container-start";
import { Isolation } from "../hardening/isolation";
import { PROXY_HEALTHCHECK, PROXY_USER } from "../image/proxy-image";
import type { EgressPolicy } from "./allowlist";
import { deniedLogCommand, PROXY_HOSTNAME } from "./network";
import { squidConfigFor } from "./squid";

export const PROXY_MEMORY_MB = 128;
export const PROXY_PIDS = 64;
export const EGRESS_PROXY_HEALTHCHECK_COMMAND = "/usr/local/bin/egress-proxy-healthcheck";

export interface EgressProxyArgs {
  readonly identity: StackIdentity;
  /** The sandbox this proxy serves: names its objects and is written into every log line. */
  readonly sandboxName: string;
  /** The allowlist and host ports to enforce (egressPolicyFor of the sandbox's `egress` config). */
  readonly policy: EgressPolicy;
  /** Name of the sandbox's internal network (sandboxNetworkSettings("allowlist")); the proxy joins it as `egress-proxy`. */
  readonly internalNetwork: pulumi.Input<string>;
  /** Its fixed address there, where the sandbox cannot look names up (a gVisor sandbox); unset: the engine picks one. */
  readonly internalAddress?: string;
  /** Image ID of the proxy image (ProxyImage.imageId). */
  readonly imageId: pulumi.Input<string>;
  /** The stack's engine, which its commands run on. */
  readonly engine: EngineClient;
}

export interface ProxyNetworks {
  readonly internal: pulumi.Input<string>;
  readonly internalAddress?: string;
  readonly outbound: pulumi.Input<string>;
  /** The outbound network's gateway, read only by an engine that names its host by address. */
  readonly outboundGateway: () => pulumi.Input<string>;
}

/** Everything the proxy container is, as docker.Container inputs: the hardening and the policy live here. */
export function proxyContainerArgs(
  args: Pick<EgressProxyArgs, "identity" | "sandboxName" | "policy" | "imageId" | "engine">,
  networks: ProxyNetworks,
): docker.ContainerArgs {
  const squidConf = squidConfigFor(args.policy, { sandboxName: args.sandboxName });
  return {
    name: sandboxObjectNames(args.identity, args.sandboxName).proxyContainer,
    image: args.imageId,
    user: PROXY_USER,
    // The policy travels in the container's config: changing the allowlist replaces the proxy, never the agent image.
    envs: [`SQUID_CONF_B64=${Buffer.from(squidConf).toString("base64")}`],
    ...hardenedContainerArgs({
      limits: { memoryMb: PROXY_MEMORY_MB, swapMb: 0, cpus: 1, openFiles: 4096 },
      healthcheckCommand: EGRESS_PROXY_HEALTHCHECK_COMMAND,
      health: PROXY_HEALTHCHECK,
      // Never gVisor, whatever its sandbox runs under: it resolves names through Docker's DNS, which gVisor cannot reach (docs/security-model.md).
      isolation: Isolation.Container,
    }),
    mounts: [{ type: "tmpfs", target: "/tmp", tmpfsOptions: { sizeBytes: 64 * 1024 * 1024, mode: 0o1777 } }],
    networksAdvanced: [
      { name: networks.outbound },
      { name: networks.internal, aliases: [PROXY_HOSTNAME], ...(networks.internalAddress ? { ipv4Address: networks.internalAddress } : {}) },
    ],
    // Only when host ports are listed does the proxy get a name for the host at all.
    hosts: args.policy.hostPorts.length > 0 ? [args.engine.hostGatewayEntry(networks.outboundGateway)] : [],
    labels: providerLabels({ ...labelsFor(args.identity, args.sandboxName), [ROLE_LABEL]: "egress-proxy" }),
    restart: "unless-stopped",
    destroyGraceSeconds: 5,
  };
}

export class EgressProxy extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  /** Its network with a route out, which the sandbox's credential proxy shares. */
  public readonly outboundNetworkName: pulumi.Output<string>;
  /** That network's gateway, for an engine that names its host by address. */
  public readonly outboundGateway: () => pulumi.Output<string>;
  /** Completes once the proxy runs healthy with its policy loaded; the sandbox's start should depend on it. */
  public readonly ready: command.local.Command;
  /** The command that prints this sandbox's refused requests. */
  public readonly deniedLogCommand: string;

  constructor(name: string, args: EgressProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-sandbox:index:EgressProxy", name, {}, opts);
    const names = sandboxObjectNames(args.identity, args.sandboxName);
    const labels = providerLabels(labelsFor(args.identity, args.sandboxName));

    const outbound = new docker.Network(
      `${name}-net`,
      { name: names.proxyNetwork, driver: args.engine.network.driver, labels },
      { parent: this, ignoreChanges: [...args.engine.unreportedNetworkInputs] },
    );
    this.outboundGateway = networkGateway(outbound);
    const { container, ready } = startedContainer(
      name,
      proxyContainerArgs(args, {
        internal: args.internalNetwork,
        internalAddress: args.internalAddress,
        outbound: outbound.name,
        outboundGateway: this.outboundGateway,
      }),
      { pidsLimit: PROXY_PIDS, health: PROXY_HEALTHCHECK, engine: args.engine },
      { parent: this },
    );
    this.ready = ready;

    this.containerName = container.name;
    this.outboundNetworkName = outbound.name;
    this.deniedLogCommand = deniedLogCommand(names.proxyContainer, args.engine);
    this.registerOutputs({ containerName: this.containerName, deniedLogCommand: this.deniedLogCommand });
  }
}
