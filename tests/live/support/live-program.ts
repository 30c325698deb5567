/**
 * Deploying the real program (index.ts) on the local engine through the live harness: a workspace the
 * agent user owns, a stack config on the project's local base images, and a host HTTP service that the
 * sandboxes' healthcheck probes through their egress proxy (the real default probe, the agent's API, is
 * not reachable from a test machine).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { deployLive, type LiveStack } from "../harness";

export const PROGRAM = path.resolve(__dirname, "../../../index.ts");
export const PROJECT = "agent-sandbox";
/** The image defaults (public Debian/Node images) cannot be pulled here; setup-engine.sh builds these. */
export const LOCAL_IMAGES = { baseImage: "agent-sandbox/debian:bookworm-slim", builderImage: "agent-sandbox/node:bookworm" } as const;
/** The machine's CA bundle: outbound HTTPS from builds passes a TLS-intercepting proxy here. */
export const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
/** The agent UID/GID of the image defaults. */
export const AGENT_UID = 1000;
export const AGENT_GID = 1000;

/** A fresh workspace owned by the agent user, as the program's host checks require for mode rw. */
export function agentWorkspace(prefix = "agent-sandbox-live-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chownSync(dir, AGENT_UID, AGENT_GID);
  return dir;
}

/** An HTTP service on the Docker host, like a developer's local API; answers `body` on every path. */
export interface HostService {
  readonly port: number;
  /** The URL a sandbox uses for it (through its proxy, when the port is in egress.hostPorts). */
  readonly sandboxUrl: string;
  close(): Promise<void>;
}

/**
 * Listens on every host address: the sandboxes' proxies reach the host at their own bridge's gateway,
 * whose address is not known before the deploy. Only the project's own containers send it requests.
 */
export async function startHostService(body: string): Promise<HostService> {
  const server = http.createServer((_, response) => response.end(body));
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    sandboxUrl: `http://host.docker.internal:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface SandboxOptions {
  readonly name: string;
  readonly workspace: string;
  /** Host service the healthcheck's "allowed" egress probe goes to (its port is added to hostPorts). */
  readonly probe: HostService;
  readonly extra?: Record<string, unknown>;
  readonly egress?: Record<string, unknown>;
}

/** One sandbox entry: fast health checks for tests, the probe allowed through the proxy. */
export function sandboxEntry(options: SandboxOptions): Record<string, unknown> {
  const egress = options.egress ?? {};
  const hostPorts = [options.probe.port, ...((egress.hostPorts as number[] | undefined) ?? [])];
  return {
    name: options.name,
    workspace: options.workspace,
    healthcheck: { interval: "2s", timeout: "10s", startPeriod: "1s", retries: 3 },
    ...options.extra,
    egress: egress.mode && egress.mode !== "allowlist" ? egress : { ...egress, hostPorts, healthProbe: { allowed: options.probe.sandboxUrl } },
  };
}

/** The stack config of a live test: local images, the machine CA as the build secret, plus what the test adds. */
export function liveConfig(extra: Record<string, unknown>): Record<string, unknown> {
  const { image, ...rest } = extra;
  return { image: { ...LOCAL_IMAGES, extraCaCertsFile: HOST_CA_BUNDLE, ...(image as object | undefined) }, ...rest };
}

export function deployProgram(stack: string, config: Record<string, unknown>, env?: Record<string, string>): Promise<LiveStack> {
  return deployLive({ programPath: PROGRAM, project: PROJECT, stack, config, env });
}

/** `docker exec` as the agent user; returns exit code and output instead of throwing. */
export function execIn(container: string, script: string, options: { user?: string; timeoutMs?: number } = {}): { code: number; output: string } {
  try {
    const output = execFileSync("docker", ["exec", "-u", options.user ?? `${AGENT_UID}:${AGENT_GID}`, container, "sh", "-c", script], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: options.timeoutMs ?? 60_000,
    });
    return { code: 0, output };
  } catch (error) {
    const failed = error as { status?: number; stdout?: string; stderr?: string };
    return { code: failed.status ?? -1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}
