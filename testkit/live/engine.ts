/**
 * The live tests' access to the local engine: whether it is there, the docker CLI and inspect calls every
 * suite makes, and the host HTTP service the sandboxes are sent to. One version of each, for every suite.
 */

import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import Docker from "dockerode";
import type { TestContext } from "vitest";
import { HOST_GATEWAY_NAME } from "../../components/engine/host-gateway";
import { LABEL_PREFIX, MANAGED_BY } from "../../components/engine/naming";
import { GVISOR_RUNTIME } from "../../components/hardening/isolation";
import { ISOLATION_VARIABLE, underGvisor } from "./isolation";
// First: it points DOCKER_HOST at the run's engine before any client below is made.
import { onPodman } from "./live-engine";
import { gatewayOf } from "./network-gateway";

const run = promisify(execFile);
const engine = new Docker();

/** The agent UID/GID of the image defaults. */
export const AGENT_UID = 1000;
export const AGENT_GID = 1000;
export const AGENT_USER = `${AGENT_UID}:${AGENT_GID}`;

/** The image defaults (public Debian/Node images) cannot be pulled here; setup-engine.sh builds these. */
export const LOCAL_IMAGES = { baseImage: "agent-sandbox/debian:bookworm-slim", builderImage: "agent-sandbox/node:bookworm" } as const;

/**
 * The client that builds with BuildKit, by scripts/setup-engine.sh's rule: Docker CLI 23+ hands BuildKit
 * builds to the buildx plugin and refuses them without it (Debian 12 does not package it), while Debian's
 * docker.io 20.10 client at /usr/bin/docker has BuildKit built in, with --secret and --platform.
 */
export const BUILD_CLI = spawnSync("docker", ["buildx", "version"]).status === 0 ? "docker" : fs.existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";

/**
 * The environment of a BUILD_CLI build: BuildKit on, and through buildx the engine's own builder, the one
 * that stores the result in the engine (the current one may be the real provider's remote BuildKit).
 */
export const BUILD_ENV: NodeJS.ProcessEnv = { ...process.env, DOCKER_BUILDKIT: "1", BUILDX_BUILDER: "default" };

/** Labels of an engine object a test creates itself (not through a deploy): managed by the project, and which test. */
export function testLabels(test: string): Record<string, string> {
  return { [`${LABEL_PREFIX}.managed-by`]: MANAGED_BY, [`${LABEL_PREFIX}.test`]: test };
}

/** The docker CLI's `--label key=value` arguments for a label map. */
export const labelArgs = (labels: Record<string, string>): string[] => Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]);

/**
 * Decides whether the live suite can run. Without a reachable engine the live tests skip with the printed
 * reason, except under REQUIRE_DOCKER=1 (set by .ci/run after scripts/setup-engine.sh), where a missing
 * engine is a failure: CI must never pass by skipping the proofs.
 */
export async function engineAvailability(): Promise<{ available: true } | { available: false; reason: string }> {
  try {
    await engine.ping();
  } catch (error) {
    const reason = `no Docker engine reachable (${(error as Error).message}); run scripts/setup-engine.sh as root`;
    if (process.env.REQUIRE_DOCKER === "1") {
      throw new Error(`REQUIRE_DOCKER=1 but ${reason}`);
    }
    console.warn(`[live] skipped: ${reason}`);
    return { available: false, reason };
  }
  return underGvisor ? gvisorAvailability() : { available: true };
}

/**
 * Under AGENT_SANDBOX_LIVE_ISOLATION=gvisor the engine must also offer runsc: without it the suites skip,
 * except under REQUIRE_GVISOR=1, where its absence fails (a gVisor pass must never pass by skipping).
 */
async function gvisorAvailability(): Promise<{ available: true } | { available: false; reason: string }> {
  const runtimes = Object.keys(((await engine.info()) as { Runtimes?: Record<string, unknown> }).Runtimes ?? {});
  if (runtimes.includes(GVISOR_RUNTIME)) return { available: true };
  const reason = `${ISOLATION_VARIABLE}=gvisor but the engine has no runtime "${GVISOR_RUNTIME}" (it knows ${runtimes.join(", ")}); run scripts/setup-pulumi.sh, then scripts/setup-engine.sh, as root`;
  if (process.env.REQUIRE_GVISOR === "1") throw new Error(`REQUIRE_GVISOR=1 but ${reason}`);
  console.warn(`[live] skipped: ${reason}`);
  return { available: false, reason };
}

/** A suite's engine check: made once in beforeAll, then each test skips with the reason when there is no engine. */
export class EngineGate {
  private availability: Awaited<ReturnType<typeof engineAvailability>> = { available: false, reason: "not checked yet" };

  /** False when no engine is reachable (the tests then skip with the reason; REQUIRE_DOCKER=1 throws). */
  async engineReady(): Promise<boolean> {
    this.availability = await engineAvailability();
    return this.availability.available;
  }

  /** Whether the check in beforeAll found an engine. */
  get available(): boolean {
    return this.availability.available;
  }

  /** In a test: skips without an engine. */
  requireEngine(context: TestContext): void {
    if (!this.availability.available) context.skip(this.availability.reason);
  }
}

/** The docker CLI's stdout; a failure throws with its stderr. Large outputs (history, inspect of many) fit. */
export async function docker(...args: string[]): Promise<string> {
  return (await run("docker", args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
}

/** A container's log, stdout and stderr together (Squid writes access lines to one and its own to the other). */
export async function logsOf(container: string): Promise<string> {
  const { stdout, stderr } = await run("docker", ["logs", container], { maxBuffer: 64 * 1024 * 1024 });
  return stdout + stderr;
}

export function inspectContainer(name: string): Promise<Docker.ContainerInspectInfo> {
  return engine.getContainer(name).inspect();
}

/** The host's address on a network (its gateway), from the engine's report or the host's bridge interface. */
export async function networkGateway(network: string): Promise<string> {
  return gatewayOf(await engine.getNetwork(network).inspect(), ipv4AddressesOn);
}

/** iproute2's JSON view of an interface's IPv4 addresses, down or not; none when the interface does not exist. */
export function ipv4AddressesOn(interfaceName: string): string[] {
  const shown = spawnSync("ip", ["-j", "-4", "addr", "show", "dev", interfaceName], { encoding: "utf8" });
  if (shown.status !== 0) return [];
  const links = JSON.parse(shown.stdout) as { addr_info?: { local?: string }[] }[];
  return links.flatMap((link) => link.addr_info ?? []).flatMap((address) => (address.local ? [address.local] : []));
}

/**
 * Polls until the container is healthy, has stopped for good, or `timeoutMs` passed, and returns its last
 * inspection: the caller asserts on the state and prints it as evidence.
 */
export async function waitHealthy(name: string, timeoutMs = 60_000): Promise<Docker.ContainerInspectInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await inspectContainer(name);
    const stopped = !info.State.Running && !info.State.Restarting;
    if (info.State.Health?.Status === "healthy" || stopped || Date.now() >= deadline) return info;
    await new Promise((done) => setTimeout(done, 500));
  }
}

export interface ExecResult {
  readonly exitCode: number;
  readonly output: string;
}

/**
 * `docker exec` of a shell script, as the agent user unless told otherwise; stdout and stderr together, for
 * evidence in failure messages. Asynchronous: the host services the sandboxes call live in the test process.
 */
export async function execIn(container: string, script: string, options: { user?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  try {
    const { stdout, stderr } = await run("docker", ["exec", "-u", options.user ?? AGENT_USER, container, "sh", "-c", script], {
      timeout: options.timeoutMs ?? 60_000,
    });
    return { exitCode: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as Error & { code?: number; stdout?: string; stderr?: string };
    return { exitCode: typeof failed.code === "number" ? failed.code : -1, output: `${failed.stdout ?? ""}${failed.stderr ?? failed.message}` };
  }
}

/**
 * The pids limit the engine holds for a running container: what Docker records (HostConfig.PidsLimit), or
 * on Podman, whose host applies it from a prestart hook and records nothing, the container's own cgroup.
 */
export async function enginePidsLimitOf(info: Docker.ContainerInspectInfo): Promise<number> {
  if (!onPodman) return info.HostConfig.PidsLimit ?? 0;
  const read = await execIn(info.Id, "read -r limit < /sys/fs/cgroup/pids/pids.max || read -r limit < /sys/fs/cgroup/pids.max; echo $limit", { user: "0:0" });
  return Number(read.output.trim());
}

/** An HTTP service on the Docker host, like a developer's local API; answers `body` on every path. */
export interface HostService {
  readonly port: number;
  /** The URL a sandbox uses for it (through its proxy, when the port is in egress.hostPorts). */
  readonly sandboxUrl: string;
  close(): Promise<void>;
}

/**
 * Listens on every host address, as a developer's local API bound to 0.0.0.0 would: the sandboxes' proxies
 * reach the host at their own bridge's gateway, whose address is not known before the deploy. Only the
 * project's own containers send it requests.
 */
export async function startHostService(body: string): Promise<HostService> {
  const server = http.createServer((_, response) => response.end(body));
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    sandboxUrl: `http://${HOST_GATEWAY_NAME}:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What the engine recorded of one kind of event (`oom`, `die`…) for a container since `since` (seconds), one `format` line each. */
export async function engineEvents(container: string, since: number, event: string, format: string): Promise<string> {
  const until = String(Math.ceil(Date.now() / 1000));
  return (
    await docker("events", "--since", String(since), "--until", until, "--filter", `container=${container}`, "--filter", `event=${event}`, "--format", format)
  ).trim();
}
