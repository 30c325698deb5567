/** The engine section of the stack config (`docker`): which Docker engine the stack targets, when not the local socket. */
import { z } from "zod";
import { absolutePath, strictObject } from "../values/schema";

/** The engine addresses the CLI commands can be pointed at; others (fd://, npipe://) are left to the providers. */
export const ENGINE_URL = /^(unix|ssh|tcp):\/\/.+/;

export const dockerHostSchema = strictObject({
  host: z.string().regex(ENGINE_URL, { error: 'must be a URL like "ssh://me@build-box" or "tcp://build-box:2376"' }),
  certPath: absolutePath("/home/me/.docker/build-box").optional(),
});

export type DockerHostConfig = z.infer<typeof dockerHostSchema>;

/** A remote engine's paths cannot be read from here, so the host checks (its CPUs aside, which it reports) and workspace protection skip it. */
export function isRemoteEngine(docker: DockerHostConfig | undefined): boolean {
  return docker !== undefined && !docker.host.startsWith("unix://");
}
