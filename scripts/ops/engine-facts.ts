/**
 * What the engine says about one sandbox, read with dockerode: its container's state and health, its
 * cgroup's CPU, memory and pids, its workspace disk (df inside it) and its egress proxy's refusals. The
 * engine is the stack's (`docker.host`): its DOCKER_HOST reaches dockerode as it would the docker CLI.
 */
import { execFile } from "node:child_process";
import * as http from "node:http";
import { promisify } from "node:util";
import Docker from "dockerode";
import type { SandboxInfo } from "../../components/agent-sandboxes";
import { DENIED_PROBE_URL, PROBE_DENIED_ENV } from "../../components/egress/network";
import { clientLibraryEnvironment, dialEngine, type EngineClient, engineClient, environmentTarget } from "../../components/engine/client";
import { LABEL_PREFIX, sandboxObjectNames } from "../../components/engine/naming";
import { pidsLimitFromEnvironment } from "../../components/hardening/container-start";
import { agentPidsLimit, Isolation, isolationOfRuntime } from "../../components/hardening/isolation";
import { countDenied, cpuPercent, diskPercentFromDf, memoryUsedBytes, type SandboxFacts, type StatsSample } from "./status-report";

const execFileAsync = promisify(execFile);

/**
 * A dockerode client of the stack's engine: the stack's DOCKER_HOST wins over the shell's. dockerode reads
 * the variables once, as it is made; the process's own environment is left as it was, so clients of
 * several stacks' engines (npm run status -- --all) each reach their own. Over ssh dockerode's own ssh
 * client would accept any host key and use only an ssh agent; each connection goes through the engine's
 * CLI instead (dialEngine), which runs the system's ssh with the person's config and known_hosts.
 */
export function engineFor(engine: EngineClient): Docker {
  const shell = process.env;
  const target = environmentTarget(clientLibraryEnvironment(engine, shell));
  if (engine.overSsh(target)) {
    const agent = new http.Agent();
    const client = engineClient(target);
    (agent as unknown as { createConnection: () => unknown }).createConnection = () => dialEngine(client);
    return new Docker({ protocol: "http", host: "engine", port: 80, agent } as Docker.DockerOptions);
  }
  process.env = clientLibraryEnvironment(engine, shell);
  try {
    return new Docker();
  } finally {
    process.env = shell;
  }
}

/** How long an engine may take to answer its ping before status calls it unreachable. */
export const PING_TIMEOUT_MS = 5000;

/** Why the engine does not answer its ping (the connection's error, or the wait), or undefined when it does. */
export async function engineUnreachable(engine: Docker, timeoutMs = PING_TIMEOUT_MS): Promise<string | undefined> {
  try {
    // The typings lag dockerode: its ping takes an abortSignal like every other call.
    await (engine as unknown as { ping(options: { abortSignal: AbortSignal }): Promise<unknown> }).ping({ abortSignal: AbortSignal.timeout(timeoutMs) });
    return undefined;
  } catch (error) {
    const { name, message } = error as Error;
    return name === "TimeoutError" || name === "AbortError" ? `no answer within ${timeoutMs / 1000} s` : message;
  }
}

/**
 * Runs each container's health check once, where the engine keeps no schedule of its own (Podman without
 * systemd), so the health read next is current; a failing check is recorded as such, never thrown.
 */
export async function checkHealthNow(client: EngineClient, containers: readonly string[]): Promise<void> {
  if (client.scheduledHealth) return;
  const host = client.env.DOCKER_HOST ?? client.defaultHost;
  await Promise.all(
    containers.map(async (container) => {
      const [cli, ...args] = client.healthCheckNow(host, container);
      await execFileAsync(cli, args, { timeout: 60_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/" } }).catch(
        () => undefined,
      );
    }),
  );
}

/** The container's state, or undefined when the engine has no such container. */
export async function inspectOrMissing(engine: Docker, name: string): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await engine.getContainer(name).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** The count a `wc -l` printed; undefined for anything else (the exec's output carries stderr too). */
export function countOf(output: string): number | undefined {
  const text = output.trim();
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

async function execOutput(container: Docker.Container, cmd: string[]): Promise<string> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const sink = { write: (chunk: Buffer) => chunks.push(chunk) } as unknown as NodeJS.WritableStream;
    container.modem.demuxStream(stream, sink, sink);
    stream.on("end", resolve);
    stream.on("error", reject);
  });
  return Buffer.concat(chunks).toString("utf8");
}

async function deniedSince(engine: Docker, proxyName: string, since: Date, probeUrl: string): Promise<number | undefined> {
  const proxy = engine.getContainer(proxyName);
  if (!(await inspectOrMissing(engine, proxyName))) return undefined;
  const logs = await proxy.logs({ stdout: true, stderr: true, since: Math.floor(since.getTime() / 1000) });
  return countDenied(logs.toString("utf8"), new URL(probeUrl).host);
}

/** Everything status needs to know about one sandbox. */
export async function sandboxFacts(engine: Docker, name: string, info: SandboxInfo): Promise<SandboxFacts> {
  const inspected = await inspectOrMissing(engine, info.container);
  if (!inspected) return { name, container: info.container, state: "missing" };
  const health = inspected.State.Health;
  // Podman records no limit of the program's: its host's hook applied the one the container carries, which its start verified.
  const recordedLimit = pidsLimitFromEnvironment(inspected.Config.Env) ?? inspected.HostConfig.PidsLimit;
  const base: SandboxFacts = {
    name,
    container: info.container,
    containerId: inspected.Id,
    state: inspected.State.Status,
    isolation: isolationOfRuntime(inspected.HostConfig.Runtime),
    health: health?.Status,
    healthOutput: health?.Log?.at(-1)?.Output.trim(),
    createdAt: new Date(inspected.Created),
    imageId: inspected.Image,
    restarts: inspected.RestartCount,
    pidsLimit: recordedLimit ? agentPidsLimit(recordedLimit, isolationOfRuntime(inspected.HostConfig.Runtime)) : undefined,
  };
  if (!inspected.State.Running) return base;
  const container = engine.getContainer(inspected.Id);
  const labels = inspected.Config.Labels ?? {};
  const proxyName = sandboxObjectNames({ project: labels[`${LABEL_PREFIX}.project`], stack: labels[`${LABEL_PREFIX}.stack`] }, name).proxyContainer;
  const probeUrl = inspected.Config.Env.find((entry) => entry.startsWith(`${PROBE_DENIED_ENV}=`))?.split("=")[1] ?? DENIED_PROBE_URL;
  // Under gVisor the engine's pids count and limit are runsc's own host tasks: the agent's are counted inside.
  const gvisor = base.isolation === Isolation.Gvisor;
  const [stats, df, denied, tasksInside] = await Promise.all([
    container.stats({ stream: false }) as unknown as Promise<StatsSample>,
    execOutput(container, ["df", "-P", "/workspace"]),
    info.deniedEgressLog ? deniedSince(engine, proxyName, new Date(inspected.State.StartedAt), probeUrl) : Promise.resolve(undefined),
    // A task that ends between the glob and ls is a race, not an error: its complaint is dropped.
    gvisor ? execOutput(container, ["sh", "-c", "ls -d /proc/[0-9]*/task/[0-9]* 2>/dev/null | wc -l"]) : Promise.resolve(undefined),
  ]);
  const enginePidsLimit = pidsLimitFromEnvironment(inspected.Config.Env) ?? stats.pids_stats?.limit ?? inspected.HostConfig.PidsLimit ?? undefined;
  return {
    ...base,
    cpuPercent: cpuPercent(stats),
    memoryBytes: memoryUsedBytes(stats),
    memoryLimitBytes: stats.memory_stats.limit,
    pids: tasksInside === undefined ? stats.pids_stats?.current : countOf(tasksInside),
    pidsLimit: enginePidsLimit === undefined ? undefined : agentPidsLimit(enginePidsLimit, base.isolation ?? Isolation.Container),
    workspaceDiskPercent: diskPercentFromDf(df),
    deniedEgress: denied,
  };
}
