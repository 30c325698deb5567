/**
 * How a container reaches the engine's host: the name it resolves to the host's address on its network,
 * given to it as an extra hosts entry, and only where the config asks for it.
 */
import { DOCKER } from "./engine";

/** The engine host's name inside a container that has the entry below. */
export const HOST_GATEWAY_NAME = DOCKER.hostGateway.host;

/** Names under this domain are the engine's host too, however they are spelled. */
export const HOST_DOMAIN = DOCKER.hostDomain;
