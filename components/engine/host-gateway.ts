/**
 * How a container reaches the engine's host: the name it resolves to the host's address on its network,
 * given to it as an extra hosts entry, and only where the config asks for it.
 */
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DOCKER } from "./engine";

/** The engine host's name inside a container that has the entry below. */
export const HOST_GATEWAY_NAME = DOCKER.hostGateway.host;

/** Names under this domain are the engine's host too, however they are spelled. */
export const HOST_DOMAIN = DOCKER.hostDomain;

/**
 * The gateway the engine gave `network` (the host's address on it), read only when asked: an engine without
 * a host-gateway placeholder names its host by this address (Engine.hostGatewayEntry).
 */
export function networkGateway(network: docker.Network): () => pulumi.Output<string> {
  return () =>
    pulumi.all([network.name, network.ipamConfigs]).apply(([name, configs]) => {
      const gateway = configs?.find((config) => config.gateway)?.gateway;
      if (!gateway) throw new Error(`the engine reported no gateway for network ${name}, where the host's address is needed`);
      return gateway;
    });
}
