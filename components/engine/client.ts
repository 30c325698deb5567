/**
 * The stack's engine as this machine reaches it, and every command line the program and the ops scripts
 * run on it. The command provider hands its child the Pulumi CLI's whole environment (cloud credentials
 * included), so a command starts the engine's CLI under `env -i` with only PATH, HOME (the CLI reads its
 * config there) and the variables that point it at the engine, which travel in the command's environment.
 */
import { spawn, spawnSync } from "node:child_process";
import { Duplex } from "node:stream";
import type { DockerHostArgs } from "./args";
import type { DockerHostConfig } from "./config";
import { DOCKER, type Engine, engineOfKind } from "./engine";
import { shellQuote } from "./shell";

export interface EngineClient extends Engine {
  /** The variables that point the CLI at the stack's engine (DOCKER_HOST…); empty for the local engine. */
  readonly env: Record<string, string>;
  /**
   * Variables of the caller's own environment the CLI also needs, passed on when set: over ssh the ssh
   * agent's socket (SSH_AUTH_SOCK), where a person's key usually is.
   */
  readonly shellVariables: readonly string[];
}

/**
 * The stack's `docker` section with the address every client uses: its `host`, else the socket of the engine
 * it names when that is not Docker (for Docker the providers and the CLI then read DOCKER_HOST, or the
 * local socket). Undefined when the section leaves both to those defaults.
 */
export function resolvedTarget(docker: DockerHostArgs | undefined): DockerHostConfig | undefined {
  if (docker === undefined) return undefined;
  const engine = engineOfKind(docker.engine);
  const host = docker.host ?? (engine === DOCKER ? undefined : engine.defaultHost);
  const section = { ...docker, engine: engine.kind };
  return host === undefined ? (docker.engine === undefined ? undefined : section) : { ...section, host };
}

/** The client of the engine a stack's `docker` section targets (the local Docker engine when absent). */
export function engineClient(docker?: DockerHostArgs): EngineClient {
  const target = resolvedTarget(docker);
  const engine = engineOfKind(target?.engine);
  return { ...engine, env: engine.clientEnvironment(target), shellVariables: engine.overSsh(target) ? ["SSH_AUTH_SOCK"] : [] };
}

/** The engine the environment names (DOCKER_HOST…): the one the providers reach when the stack names none. */
export function environmentTarget(env: NodeJS.ProcessEnv): DockerHostConfig | undefined {
  return DOCKER.environmentTarget(env);
}

/** The variables any engine client reads to find its engine, whichever of them a target sets. */
const ENGINE_VARIABLES = Object.keys(DOCKER.clientEnvironment({ host: DOCKER.defaultHost, certPath: "/" }));

/**
 * The environment a client library (dockerode) should read to reach the client's engine: a stack that
 * names an engine gets exactly its variables, none of the shell's; one that names none gets the shell's,
 * as its providers do. `env` itself is left as it is.
 */
export function clientLibraryEnvironment(client: EngineClient, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (Object.keys(client.env).length === 0) return { ...env };
  const kept = Object.entries(env).filter(([name]) => !ENGINE_VARIABLES.includes(name));
  return { ...Object.fromEntries(kept), ...client.env };
}

/**
 * The start of every command a script runs on the engine: the CLI under `env -i`, the engine's variables
 * read from the script's environment (`DOCKER_HOST="$DOCKER_HOST"`), never written into the script.
 */
export function cliCommand(client: EngineClient): string {
  // A shell variable may be unset (and scripts run under `set -u`); ssh takes an empty agent socket for none.
  const passed = [...Object.keys(client.env).map((name) => `${name}="$${name}"`), ...client.shellVariables.map((name) => `${name}="\${${name}-}"`)];
  return ["env -i", 'PATH="$PATH"', 'HOME="$HOME"', ...passed, client.cli].join(" ");
}

/** The CLI line a person types, with the engine's variables spelled out when it is remote. */
export function typedCommand(client: EngineClient, args: readonly string[]): string {
  const prefix = Object.entries(client.env)
    .map(([name, value]) => `${name}=${shellQuote(value)} `)
    .join("");
  return `${prefix}${client.cli} ${args.map((arg) => (/^[A-Za-z0-9_.:/@=-]+$/.test(arg) ? arg : shellQuote(arg))).join(" ")}`;
}

/** The clean environment of cliCommand's CLI, for a CLI this process starts itself. */
function cliEnvironment(client: EngineClient): NodeJS.ProcessEnv {
  const shell = Object.fromEntries(client.shellVariables.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])));
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/", ...shell, ...client.env };
}

/** Runs the CLI from this process with the same clean environment as cliCommand's. */
export function runCli(client: EngineClient, args: readonly string[], timeout: number) {
  return spawnSync(client.cli, args, { encoding: "utf8", timeout, env: cliEnvironment(client) });
}

/**
 * A connection to the engine's API through its CLI (`dialArgs`), for a client library: over ssh the CLI
 * runs the system's ssh, so the person's ssh config, keys, agent and known_hosts decide, as for every other
 * command. The CLI ends when the connection is closed. Looks like a socket to Node's HTTP client.
 */
export function dialEngine(client: EngineClient): Duplex {
  const child = spawn(client.cli, client.dialArgs, { env: cliEnvironment(client), stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
  const connection = new Duplex({
    read: () => child.stdout.resume(),
    write: (chunk, encoding, done) => child.stdin.write(chunk, encoding, done),
    final: (done) => child.stdin.end(done),
    destroy: (error, done) => {
      child.kill();
      done(error);
    },
  });
  child.stdout.on("data", (chunk: Buffer) => connection.push(chunk) || child.stdout.pause());
  child.stdout.on("end", () => connection.push(null));
  // The pipes' own errors (EPIPE after the CLI ended) and the CLI's failure reach the connection once, as its error.
  const fail = (error: Error) => connection.destroyed || connection.destroy(error);
  for (const emitter of [child, child.stdin, child.stdout]) emitter.on("error", fail);
  child.on("close", (code) => code && fail(new Error(`${client.cli} ${client.dialArgs.join(" ")} exited ${code}: ${stderr.trim()}`)));
  return Object.assign(connection, {
    setTimeout: () => connection,
    setNoDelay: () => connection,
    setKeepAlive: () => connection,
    ref: () => connection,
    unref: () => connection,
  });
}
