/**
 * The credential proxy of one sandbox: an nginx container beside the egress proxy (same image, same user),
 * on the sandbox's network as `credential-proxy` and on the way out. The sandbox's agent talks to its API
 * through it with a placeholder key, and git to the listed repositories; the proxy drops whatever
 * credential the client sent and adds the stack's, which it alone can read (the proxy secrets volume).
 *
 * A sibling of the egress proxy rather than a part of it: Squid there parses whatever the agent sends to
 * any allowed host and holds no secret; this one forwards only to the fixed upstreams of its config, so the
 * process holding the keys has the smallest surface, and its config and logs can be judged on their own.
 */
import type * as command from "@pulumi/command";
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { EngineClient } from "../engine/client";
import { HOST_GATEWAY_NAME } from "../engine/host-gateway";
import { labelsFor, providerLabels, ROLE_LABEL, type StackIdentity, sandboxObjectNames } from "../engine/naming";
import { CREDENTIAL_PROXY_ROLE } from "../guardrails/credentials";
import { hardenedContainerArgs } from "../hardening/baseline";
import { startedContainer } from "../hardening/container-start";
import { Isolation } from "../hardening/isolation";
import { PROXY_HEALTHCHECK, PROXY_USER } from "../image/proxy-image";
import { type CredentialProxyPlan, credentialProxyConfig } from "./nginx-conf";
import { CREDENTIAL_PROXY_HOSTNAME, PROXY_SECRETS_PATH } from "./proxy-contract";

export const CREDENTIAL_PROXY_MEMORY_MB = 64;
const CREDENTIAL_PROXY_PIDS = 32;
export const CREDENTIAL_PROXY_HEALTHCHECK_COMMAND = "/usr/local/bin/credential-proxy-healthcheck";
export const CREDENTIAL_PROXY_ENTRYPOINT = "/usr/local/bin/credential-proxy-entrypoint";

export interface CredentialProxyArgs {
  readonly identity: StackIdentity;
  readonly plan: CredentialProxyPlan;
  /** The sandbox's network, where the proxy answers as `credential-proxy`. */
  readonly sandboxNetwork: pulumi.Input<string>;
  /** Its fixed address there, where the sandbox cannot look names up (a gVisor sandbox); unset: the engine picks one. */
  readonly sandboxAddress?: string;
  /** A network with a route out (the egress proxy's outbound one); absent when the sandbox's own has one (egress mode open). */
  readonly outboundNetwork?: pulumi.Input<string>;
  /** The gateway of the network it leaves by (the outbound one, else the sandbox's), for an engine that names its host by address. */
  readonly outboundGateway: () => pulumi.Input<string>;
  /** The proxy image (ProxyImage.imageId): it holds nginx beside Squid. */
  readonly imageId: pulumi.Input<string>;
  /** The stack's proxy secrets volume. */
  readonly secretsVolume: pulumi.Input<string>;
  /** The stack's engine, which its commands run on. */
  readonly engine: EngineClient;
  /** What must be complete before the proxy starts: the proxy secrets being written. */
  readonly startAfter: pulumi.Input<pulumi.Resource>[];
}

/** True when an upstream of the plan is the Docker host, which the container then needs a name for. */
function reachesDockerHost(plan: CredentialProxyPlan): boolean {
  return plan.api?.upstream.host === HOST_GATEWAY_NAME || plan.gitRepos.some((repo) => repo.host === HOST_GATEWAY_NAME);
}

/** Everything the credential proxy container is, as docker.Container inputs. */
export function credentialProxyContainerArgs(args: Omit<CredentialProxyArgs, "startAfter">): docker.ContainerArgs {
  const { identity, plan } = args;
  return {
    name: sandboxObjectNames(identity, plan.sandboxName).credentialProxy,
    image: args.imageId,
    user: PROXY_USER,
    entrypoints: [CREDENTIAL_PROXY_ENTRYPOINT],
    // The configuration holds no secret, so it may travel in the container's config like the egress policy.
    envs: [`NGINX_CONF_B64=${Buffer.from(credentialProxyConfig(plan)).toString("base64")}`],
    ...hardenedContainerArgs({
      limits: { memoryMb: CREDENTIAL_PROXY_MEMORY_MB, swapMb: 0, cpus: 1, openFiles: 4096 },
      healthcheckCommand: CREDENTIAL_PROXY_HEALTHCHECK_COMMAND,
      health: PROXY_HEALTHCHECK,
      // Never gVisor, whatever its sandbox runs under: it resolves names through Docker's DNS, which gVisor cannot reach (docs/security-model.md).
      isolation: Isolation.Container,
    }),
    mounts: [
      { type: "tmpfs", target: "/tmp", tmpfsOptions: { sizeBytes: 16 * 1024 * 1024, mode: 0o1777 } },
      { type: "volume", source: args.secretsVolume, target: PROXY_SECRETS_PATH, readOnly: true },
    ],
    networksAdvanced: [
      ...(args.outboundNetwork ? [{ name: args.outboundNetwork }] : []),
      { name: args.sandboxNetwork, aliases: [CREDENTIAL_PROXY_HOSTNAME], ...(args.sandboxAddress ? { ipv4Address: args.sandboxAddress } : {}) },
    ],
    hosts: reachesDockerHost(plan) ? [args.engine.hostGatewayEntry(args.outboundGateway)] : [],
    labels: providerLabels({ ...labelsFor(identity, plan.sandboxName), [ROLE_LABEL]: CREDENTIAL_PROXY_ROLE }),
    restart: "unless-stopped",
    destroyGraceSeconds: 5,
  };
}

export interface CredentialProxy {
  readonly containerName: pulumi.Output<string>;
  /** Completes once the proxy runs healthy with its configuration loaded; the sandbox's start depends on it. */
  readonly ready: command.local.Command;
}

/**
 * Declares the credential proxy as the sandbox's own children, its container and start command, with no
 * component of its own: a resource fewer per sandbox is 8% of evaluating 100 of them (`npm run bench`).
 */
export function declareCredentialProxy(name: string, args: CredentialProxyArgs, sandbox: pulumi.Resource): CredentialProxy {
  const { container, ready } = startedContainer(
    name,
    credentialProxyContainerArgs(args),
    { pidsLimit: CREDENTIAL_PROXY_PIDS, health: PROXY_HEALTHCHECK, engine: args.engine },
    { parent: sandbox, startAfter: args.startAfter },
  );
  return { containerName: container.name, ready };
}
