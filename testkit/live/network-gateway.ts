/**
 * Where the host is on a Docker network, for the probes that prove a sandbox cannot reach it. The engine does
 * not promise a `Gateway` in a network's IPAM config: the default bridge adopted without `--bip` reports only
 * its subnet. The bridge interface on the host still holds the address, so that is the second source.
 */
/** The parts of `docker network inspect` the lookup reads. */
export interface NetworkFacts {
  readonly Name: string;
  readonly Id: string;
  readonly Options?: Record<string, string> | null;
  readonly IPAM?: { readonly Config?: ReadonlyArray<{ readonly Subnet?: string; readonly Gateway?: string }> | null } | null;
}

/**
 * The IPv4 addresses the host holds on an interface, down or not. (Node's os.networkInterfaces() leaves out
 * interfaces that are not running, and docker0 is not while no container uses the default bridge.)
 */
export type HostAddresses = (interfaceName: string) => string[];

/** The engine's name of a bridge network's host interface: its explicit option, else `br-` and the ID's first 12 characters. */
export function bridgeInterfaceName(network: NetworkFacts): string {
  return network.Options?.["com.docker.network.bridge.name"] ?? `br-${network.Id.slice(0, 12)}`;
}

/**
 * The IPv4 gateway of the network: the IPAM gateway when the engine reports one, else the address the host
 * holds on the network's bridge interface. Throws when neither exists, because an empty target would make
 * a "cannot reach the gateway" probe pass for nothing.
 */
export function gatewayOf(network: NetworkFacts, addressesOn: HostAddresses): string {
  const reported = network.IPAM?.Config?.map((config) => config.Gateway).find((gateway) => gateway && !gateway.includes(":"));
  if (reported) return reported;
  const bridge = bridgeInterfaceName(network);
  const [held] = addressesOn(bridge);
  if (held) return held;
  throw new Error(
    `network ${network.Name} has no IPAM gateway and the host holds no IPv4 address on its bridge ${bridge}: IPAM ${JSON.stringify(network.IPAM)}`,
  );
}
