/**
 * Building the shell commands that @pulumi/command runs on the Docker host. Values never go into the
 * command text unquoted: everything that comes from config is either quoted here or passed as an
 * environment variable / stdin, so a prompt or a path full of quotes and `$(...)` runs nothing.
 */
import type { DockerHostConfig } from "./config";

/** POSIX single-quote quoting: the result is one word whatever the input holds. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function shellWords(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}

/**
 * The environment a docker CLI child needs to reach the configured engine, and nothing else: the command
 * provider hands its child the Pulumi CLI's whole environment (cloud credentials included), so our
 * scripts start the docker CLI under `env -i` with only these.
 */
export function dockerClientEnvironment(dockerHost?: DockerHostConfig): Record<string, string> {
  if (!dockerHost) return {};
  return {
    DOCKER_HOST: dockerHost.host,
    ...(dockerHost.certPath ? { DOCKER_CERT_PATH: dockerHost.certPath, DOCKER_TLS_VERIFY: "1" } : {}),
  };
}

/** `env -i` prefix keeping PATH and HOME (the docker CLI reads its config there) plus the engine variables. */
export function cleanEnvPrefix(dockerEnv: Record<string, string>): string {
  const passed = Object.keys(dockerEnv).map((name) => `${name}="$${name}"`);
  return ["env -i", 'PATH="$PATH"', 'HOME="$HOME"', ...passed].join(" ");
}

/** The docker CLI line a person types, with DOCKER_HOST spelled out when the engine is remote. */
export function humanDockerCommand(dockerEnv: Record<string, string>, args: readonly string[]): string {
  const prefix = Object.entries(dockerEnv)
    .map(([name, value]) => `${name}=${shellQuote(value)} `)
    .join("");
  return `${prefix}docker ${args.map((arg) => (/^[A-Za-z0-9_.:/@=-]+$/.test(arg) ? arg : shellQuote(arg))).join(" ")}`;
}
