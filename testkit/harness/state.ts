import Docker from "dockerode";
import type { Inputs } from "./values";

/** The engine every harness call talks to (DOCKER_HOST or the local socket, as the provider defaults). */
export const engine = new Docker();

/** What teardown needs to know to order deletions: containers, then networks, then volumes. */
export type Kind = "container" | "network" | "volume" | "command" | "image";

/** One declared resource as the harness realized it. */
export interface RealizedResource {
  /** Type token as the SDK sends it, e.g. "docker:index/container:Container". */
  readonly type: string;
  /** Logical (Pulumi) name. */
  readonly name: string;
  readonly kind: Kind;
  /** Provider id: container/network id, volume name, command's random id, image digest. */
  readonly id: string;
  /** Inputs with secrets revealed. */
  readonly inputs: Inputs;
  /** State returned to the program (inputs + provider outputs). */
  readonly outputs: Inputs;
}

/** A realized resource plus what the harness must do to delete it or check it is still there. */
export interface Tracked extends RealizedResource {
  destroy(): Promise<void>;
  exists(): Promise<boolean>;
}

/** The engine's "not found" (HTTP 404) is success for a delete: the object is already gone. */
export function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: number }).statusCode === 404;
}

/** Negotiated API version: the provider's client negotiates down to the daemon's (WithAPIVersionNegotiation). */
let apiVersion: Promise<string> | undefined;
export function engineApiVersion(): Promise<string> {
  apiVersion ??= engine.version().then((v) => v.ApiVersion);
  return apiVersion;
}
