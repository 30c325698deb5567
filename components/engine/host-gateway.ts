/**
 * How a container reaches the Docker host: the name it resolves to the host's address on its network,
 * given to it as an extra hosts entry (Docker's `host-gateway`), and only where the config asks for it.
 */

/** The Docker host's name inside a container that has the entry below. */
export const HOST_GATEWAY_NAME = "host.docker.internal";

/** The docker.Container `hosts` entry that makes HOST_GATEWAY_NAME resolve to the Docker host. */
export const HOST_GATEWAY_ENTRY = { host: HOST_GATEWAY_NAME, ip: "host-gateway" } as const;
