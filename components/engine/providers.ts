/**
 * Which Docker engine the stack targets. Explicit providers (passed to the components through
 * `providers`) let a stack point at another host over ssh:// or tcp:// with TLS instead of the local socket.
 */
import type * as docker from "@pulumi/docker";
import type * as dockerbuild from "@pulumi/docker-build";
import type * as pulumi from "@pulumi/pulumi";
import type { DockerHostConfig } from "./config";

/** What the providers need of the stack config: the engine, and the registry sandboxes pull the image from. */
export interface EngineTarget {
  readonly docker?: DockerHostConfig;
  readonly registry?: { readonly address: string; readonly username?: string };
}

export function dockerProviderArgs(config: EngineTarget, registryPassword?: pulumi.Input<string>): docker.ProviderArgs {
  const registry = config.registry;
  return {
    ...(config.docker ? { host: config.docker.host, certPath: config.docker.certPath } : {}),
    // Sandboxes pull a pushed image by digest; the engine needs the registry's credentials for that.
    ...(registry?.username && registryPassword
      ? { registryAuth: [{ address: registry.address, username: registry.username, password: registryPassword }] }
      : {}),
  };
}

export function buildProviderArgs(config: EngineTarget): dockerbuild.ProviderArgs {
  return config.docker ? { host: config.docker.host } : {};
}
