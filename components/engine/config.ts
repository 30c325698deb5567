/** The engine section of the stack config (`docker`): which Docker engine the stack targets, when not the local socket. */
import { z } from "zod";
import { absolutePath, strictObject } from "../values/schema";

/** The engine addresses the CLI commands can be pointed at; others (fd://, npipe://) are left to the providers. */
export const ENGINE_URL = /^(unix|ssh|tcp):\/\/.+/;

/** The engines a stack can target (components/engine/engine.ts). */
export const ENGINE_KINDS = ["docker", "podman"] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

export const dockerHostSchema = strictObject({
  engine: z.enum(ENGINE_KINDS).optional(),
  host: z.string().regex(ENGINE_URL, { error: 'must be a URL like "ssh://me@build-box" or "tcp://build-box:2376"' }).optional(),
  certPath: absolutePath("/home/me/.docker/build-box").optional(),
});

export type DockerHostConfig = z.infer<typeof dockerHostSchema>;

/** A remote engine's paths cannot be read from here, so the host checks (its CPUs aside, which it reports) and workspace protection skip it. */
export function isRemoteEngine(docker: { readonly host?: string } | undefined): boolean {
  return docker?.host !== undefined && !docker.host.startsWith("unix://");
}
