/**
 * A sandbox's network topology, decided once: which network it sits on and which proxies stand beside it.
 * Everything that depends on it (the networks and proxies declared, the container's network and proxy
 * variables, the config's rules about them) asks here instead of re-deriving it from the settings.
 */
import { AgentAuth } from "../agents";
import type { EgressMode } from "../egress/config";

/**
 * host: the host's network (acknowledged); none: loopback only; allowlist: an internal network whose one
 * way out is the egress proxy; open: an ordinary bridge (acknowledged).
 */
export type SandboxNetwork = "host" | EgressMode;

export interface SandboxTopology {
  readonly network: SandboxNetwork;
  /** True when the sandbox has a network of its own (allowlist or open), which its proxies join. */
  readonly ownNetwork: boolean;
  /** The Squid egress proxy enforcing its allowlist. */
  readonly egressProxy: boolean;
  /** The credential proxy adding the stack's keys outside it: for its agent's API under auth proxy, or for listed git repositories. */
  readonly credentialProxy: boolean;
  /** The credential proxy stands in for the agent's API (auth proxy): the sandbox holds only a placeholder key. */
  readonly agentApiThroughProxy: boolean;
}

/** The settings the topology follows from, as validated config has them. */
export interface TopologySettings {
  readonly hostNetwork: boolean;
  readonly auth: AgentAuth;
  readonly egress: { readonly mode: EgressMode; readonly gitRepos: readonly unknown[] };
}

export function sandboxTopology(sandbox: TopologySettings): SandboxTopology {
  const network: SandboxNetwork = sandbox.hostNetwork ? "host" : sandbox.egress.mode;
  const ownNetwork = network === "allowlist" || network === "open";
  const agentApiThroughProxy = ownNetwork && sandbox.auth === AgentAuth.Proxy;
  return {
    network,
    ownNetwork,
    egressProxy: network === "allowlist",
    credentialProxy: agentApiThroughProxy || (ownNetwork && sandbox.egress.gitRepos.length > 0),
    agentApiThroughProxy,
  };
}
