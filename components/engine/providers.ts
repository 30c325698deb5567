/**
 * Which Docker engine the stack targets. Explicit providers (passed to the components through
 * `providers`) let a stack point at another host over ssh:// or tcp:// with TLS instead of the local socket.
 */
import type * as docker from "@pulumi/docker";
import type * as dockerbuild from "@pulumi/docker-build";
import type * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/schema";

export function dockerProviderArgs(config: StackConfig, registryPassword?: pulumi.Input<string>): docker.ProviderArgs {
  const registry = config.image.registry;
  return {
    ...(config.docker ? { host: config.docker.host, certPath: config.docker.certPath } : {}),
    // Sandboxes pull a pushed image by digest; the engine needs the registry's credentials for that.
    ...(registry?.username && registryPassword
      ? { registryAuth: [{ address: registry.address, username: registry.username, password: registryPassword }] }
      : {}),
  };
}

export function buildProviderArgs(config: StackConfig): dockerbuild.ProviderArgs {
  return config.docker ? { host: config.docker.host } : {};
}
