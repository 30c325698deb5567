/**
 * Whether a Docker engine answers where the providers will look for one, checked before any resource is
 * declared: without it the providers fail one resource at a time, each with a gRPC error and no hint of
 * which setting chose the address. The address is the providers' own choice: `docker.host`, else the
 * DOCKER_HOST environment variable, else the local socket.
 */
import { spawnSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { DOCKER, engineOfKind } from "./engine";

/** Set to 1 to skip the check, e.g. when the engine is reached through something a plain connection cannot judge. */
export const SKIP_ENGINE_CHECK = "AGENT_SANDBOX_SKIP_ENGINE_CHECK";
const CONNECT_TIMEOUT_MS = 3000;

/** The engine address the providers will use, and the setting that chose it. */
export interface EngineAddress {
  readonly url: string;
  readonly setting: "docker.host" | "docker.engine" | "DOCKER_HOST" | "default";
}

/** What a probe connects to: a unix socket (asked for Docker's /_ping), or a TCP port (the engine's, or ssh's). */
export type ProbeTarget = { readonly kind: "unix"; readonly path: string } | { readonly kind: "tcp"; readonly host: string; readonly port: number };

/** Why nothing answers at the target (the connection's own error), or undefined when something does. */
export type EngineProbe = (target: ProbeTarget) => string | undefined;

/** The address: `docker.host`; else the socket of the engine `docker.engine` names, when not Docker; else DOCKER_HOST or the local socket. */
export function engineAddressOf(docker: { readonly host?: unknown; readonly engine?: unknown } | undefined, env: NodeJS.ProcessEnv): EngineAddress {
  if (typeof docker?.host === "string" && docker.host !== "") return { url: docker.host, setting: "docker.host" };
  const named = engineOfKind(docker?.engine === "podman" ? "podman" : undefined);
  if (named !== DOCKER) return { url: named.defaultHost, setting: "docker.engine" };
  if (env.DOCKER_HOST) return { url: env.DOCKER_HOST, setting: "DOCKER_HOST" };
  return { url: DOCKER.defaultHost, setting: "default" };
}

/** Where to connect for an address; undefined for a scheme the probe cannot judge (the providers then report). */
export function probeTargetOf(url: string, tls = false): ProbeTarget | undefined {
  const match = /^(unix|tcp|ssh):\/\/(.*)$/.exec(url);
  if (!match) return undefined;
  const [, scheme, rest] = match;
  if (scheme === "unix") return rest ? { kind: "unix", path: rest } : undefined;
  let parsed: URL;
  try {
    parsed = new URL(`${scheme === "ssh" ? "ssh" : "http"}://${rest}`);
  } catch {
    return undefined;
  }
  if (!parsed.hostname) return undefined;
  // Docker's own defaults: 2376 with TLS, 2375 without; ssh's port 22.
  const defaultPort = scheme === "ssh" ? 22 : tls ? 2376 : 2375;
  return { kind: "tcp", host: parsed.hostname.replace(/^\[|\]$/g, ""), port: parsed.port ? Number(parsed.port) : defaultPort };
}

/** The one problem to report when nothing answers, naming the setting, the address and the command that checks it. */
export function engineProblem(address: EngineAddress, probe: EngineProbe, certPath?: string): string | undefined {
  const target = probeTargetOf(address.url, certPath !== undefined);
  if (!target) return undefined;
  const failure = probe(target);
  if (failure === undefined) return undefined;
  const what =
    target.kind === "unix"
      ? "no Docker engine answers"
      : address.url.startsWith("ssh://")
        ? `no SSH server answers on ${target.host}:${target.port}`
        : `nothing answers on ${target.host}:${target.port}`;
  const check = `check it with: ${[DOCKER.cli, ...DOCKER.hostFlags({ host: address.url, certPath }), "info"].join(" ")}`;
  switch (address.setting) {
    case "docker.host":
      return `docker.host: ${what} for "${address.url}" (${failure}); start the engine or correct docker.host, then ${check}`;
    case "docker.engine":
      return `docker.engine: ${what} at ${address.url}, where the engine it names listens when docker.host is not set (${failure}); start it (scripts/setup-engine.sh --podman does on Debian), or set docker.host to where it listens, then ${check}`;
    case "DOCKER_HOST":
      return `DOCKER_HOST: ${what} for "${address.url}", taken from the environment since docker.host is not set (${failure}); start the engine, correct or unset DOCKER_HOST, or set docker.host, then ${check}`;
    default:
      return `docker.host: not set and DOCKER_HOST is empty, so the engine is the local socket, but ${what} at ${address.url} (${failure}); start Docker, or set docker.host to where it runs, then ${check}`;
  }
}

/** A connection in a child Node process: the component's constructor is synchronous, a socket is not. */
const PROBE_SCRIPT = `
const [kind, where, port, timeout] = process.argv.slice(1);
const net = require("node:net");
const socket = kind === "unix" ? net.connect(where) : net.connect(Number(port), where);
const fail = (reason) => { process.stderr.write(reason); process.exit(1); };
socket.setTimeout(Number(timeout), () => fail("no answer within " + timeout + " ms"));
socket.on("error", (error) => fail(error.message));
socket.on("connect", () => {
  if (kind !== "unix") process.exit(0);
  socket.end("GET /_ping HTTP/1.0\\r\\n\\r\\n");
});
let answer = "";
socket.on("data", (chunk) => { answer += chunk; });
socket.on("end", () => (/^HTTP\\/1\\.\\d 200 /.test(answer) ? process.exit(0) : fail("the socket answers, but not as a Docker engine: " + (answer.split("\\r\\n")[0] || "nothing"))));
`;

/** The probe's command line (node and its arguments): exit 0 when something answers, else the reason on stderr. */
export function probeCommand(target: ProbeTarget): string[] {
  const where = target.kind === "unix" ? [target.path, "0"] : [target.host, String(target.port)];
  return [process.execPath, "-e", PROBE_SCRIPT, target.kind, ...where, String(CONNECT_TIMEOUT_MS)];
}

export const realEngineProbe: EngineProbe = (target) => {
  const [node, ...args] = probeCommand(target);
  const result = spawnSync(node, args, { encoding: "utf8", timeout: CONNECT_TIMEOUT_MS + 2000 });
  if (result.status === 0) return undefined;
  return result.stderr?.trim() || result.error?.message || `the probe exited ${result.status ?? result.signal}`;
};

/**
 * The probe a real deployment uses; none under Pulumi's mocks (no engine is involved there) or when the
 * user switched the check off.
 */
export function defaultEngineProbe(env: NodeJS.ProcessEnv = process.env): EngineProbe | undefined {
  if (env[SKIP_ENGINE_CHECK] === "1") return undefined;
  return pulumi.runtime.getMonitor() instanceof MockMonitor ? undefined : realEngineProbe;
}
