/**
 * The sandbox network of a gVisor sandbox. gVisor's network stack cannot reach Docker's embedded DNS (it
 * answers at 127.0.0.11 in the host kernel's view of the container's namespace, which gVisor replaces), so
 * the sandbox cannot look up its proxies by name. Its network gets a subnet of the program's choosing, the
 * proxies fixed addresses on it, and the sandbox hosts entries for their names: the only names it needs,
 * since everything else it reaches goes through the egress proxy, which resolves names itself.
 */
import { createHash } from "node:crypto";
import { CREDENTIAL_PROXY_HOSTNAME } from "../credentials/proxy-contract";
import { PROXY_HOSTNAME } from "../egress/network";
import { type StackIdentity, sandboxObjectNames } from "../engine/naming";
import { Isolation } from "../hardening/isolation";
import { type SandboxTopology, sandboxTopology, type TopologySettings } from "./topology";

/** Where gVisor sandboxes' networks are carved from: a /28 each, picked by the network's name. */
export const GVISOR_SUBNET_POOL = "10.213.0.0/16";
const POOL_FIRST_OCTETS = [10, 213];
const BLOCKS = 4096;
const BLOCK_SIZE = 16;

export interface GvisorNetworkPlan {
  /** The network's subnet, e.g. "10.213.18.32/28". */
  readonly subnet: string;
  /**
   * Its first address, the one Docker would pick. Named anyway: a restarted dockerd reports the gateway it
   * picked as configured, and a refresh would otherwise propose to replace the network.
   */
  readonly gateway: string;
  /**
   * Where Docker hands out the addresses it picks (the sandbox's, ephemeral runs'): the upper half, apart
   * from the proxies' fixed ones. When dockerd restarts, its restart policy starts the containers in no
   * fixed order; with the whole subnet open the sandbox could take a proxy's address first, and that proxy
   * then fails "Address already in use" and stays down (seen in tests/live/daemon-restart.test.ts).
   */
  readonly dynamicRange: string;
  readonly egressProxyAddress: string;
  readonly credentialProxyAddress: string;
}

/**
 * The plan for the network with this physical name: the same every time (a deployment and its updates
 * agree), and different sandboxes' networks land apart unless their names hash to one block, which Docker
 * then refuses as overlapping pools, naming the network.
 */
export function gvisorNetworkPlan(networkName: string): GvisorNetworkPlan {
  const block = createHash("sha256").update(networkName).digest().readUInt16BE(0) % BLOCKS;
  const offset = block * BLOCK_SIZE;
  const address = (host: number) => [...POOL_FIRST_OCTETS, Math.floor((offset + host) / 256), (offset + host) % 256].join(".");
  return {
    subnet: `${address(0)}/28`,
    gateway: address(1),
    dynamicRange: `${address(8)}/29`,
    egressProxyAddress: address(2),
    credentialProxyAddress: address(3),
  };
}

/** The plan of a sandbox's own network when it runs under gVisor; undefined otherwise (Docker's DNS serves it). */
export function gvisorNetworkFor(
  identity: StackIdentity,
  sandbox: TopologySettings & { readonly name: string; readonly isolation: Isolation },
): GvisorNetworkPlan | undefined {
  if (sandbox.isolation !== Isolation.Gvisor || !sandboxTopology(sandbox).ownNetwork) return undefined;
  return gvisorNetworkPlan(sandboxObjectNames(identity, sandbox.name).network);
}

/** The sandbox's hosts entries for its proxies' names, on a gVisor network. */
export function proxyHostEntries(plan: GvisorNetworkPlan, topology: SandboxTopology): { host: string; ip: string }[] {
  return [
    ...(topology.egressProxy ? [{ host: PROXY_HOSTNAME, ip: plan.egressProxyAddress }] : []),
    ...(topology.credentialProxy ? [{ host: CREDENTIAL_PROXY_HOSTNAME, ip: plan.credentialProxyAddress }] : []),
  ];
}
