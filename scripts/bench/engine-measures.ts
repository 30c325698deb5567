/**
 * Measuring containers on the engine for the bench: start-to-healthy and memory from `docker inspect` and
 * `docker stats`, start-to-ready by the program's own start lines, and the floor a deployed sandbox is
 * compared with: the same containers by `docker run` alone, each ready at its first passing check run by hand.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import type { ContainerInspectInfo } from "dockerode";
import { type EngineClient, engineClient } from "../../components/engine/client";
import type { HealthTimings } from "../../components/hardening/baseline";
import { readinessEnvironment, startHealthyLines } from "../../components/hardening/container-start";

const ROOT = path.resolve(__dirname, "../..");

export function docker(args: string[], engine: EngineClient = engineClient()): string {
  return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], cwd: ROOT, env: { ...process.env, ...engine.env } }).trim();
}

/**
 * The container's latest start and the first health check that passed after it, from inspect alone. The
 * engine keeps the health log across restarts, so checks from before the start are not counted.
 */
export function startToHealthy(container: string): { seconds: number; checkSeconds: number } {
  const info = JSON.parse(docker(["inspect", container]))[0];
  const started = Date.parse(info.State.StartedAt);
  const passed = (info.State.Health?.Log ?? []).find(
    (entry: { Start: string; ExitCode: number }) => entry.ExitCode === 0 && Date.parse(entry.Start) >= started,
  );
  if (!passed) throw new Error(`${container} has no passing health check since its start: ${JSON.stringify(info.State.Health)}`);
  return { seconds: (Date.parse(passed.End) - started) / 1000, checkSeconds: (Date.parse(passed.End) - Date.parse(passed.Start)) / 1000 };
}

/** Seconds from the container's latest start to the end of its first passing health check. */
export const startToHealthySeconds = (container: string): number => startToHealthy(container).seconds;

const UNIT_MIB: Record<string, number> = { B: 1 / 1024 ** 2, KiB: 1 / 1024, MiB: 1, GiB: 1024 };

/** The container's memory use in MiB as `docker stats` reports it. */
export function memoryOf(container: string): number {
  const usage = docker(["stats", "--no-stream", "--format", "{{.MemUsage}}", container]).split("/")[0].trim();
  const match = /^([\d.]+)\s*([KMG]?i?B)$/.exec(usage);
  if (!match || !(match[2] in UNIT_MIB)) throw new Error(`docker stats reported memory of ${container} as ${JSON.stringify(usage)}`);
  return Number(match[1]) * UNIT_MIB[match[2]];
}

export const formatMiB = (mib: number): string => `${mib.toFixed(1)} MiB`;

/** The memory cgroup of a host process (cgroup v1: its memory line; v2: its one line), undefined once it is gone. */
function memoryCgroupOf(pid: string): string | undefined {
  try {
    const lines = fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
    const line = lines.find((entry) => entry.split(":")[1]?.split(",").includes("memory")) ?? lines.find((entry) => entry.startsWith("0::"));
    return line?.split(":").slice(2).join(":");
  } catch {
    return undefined;
  }
}

interface ProcessMemory {
  readonly mib: number;
  readonly processes: string[];
}

/**
 * The host processes of a container's runtime, found by the container's id on their command line (so only
 * on the engine's own machine, none on a remote one), split by whether they sit in the container's memory
 * cgroup, which `docker stats` reads: the shim never does; runsc's sentry and gofer do under cgroupfs, yet
 * the cgroup is not charged for pages of their binary first read elsewhere. Memory is PSS: pages shared
 * with another container's copy of the same binary are split between them, not counted twice.
 */
export function runtimeProcessesOf(container: string): { inside: ProcessMemory; outside: ProcessMemory } {
  const info: ContainerInspectInfo = JSON.parse(docker(["inspect", container]))[0];
  const own = memoryCgroupOf(String(info.State.Pid));
  const found = { inside: { kib: 0, processes: [] as string[] }, outside: { kib: 0, processes: [] as string[] } };
  for (const pid of fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    try {
      const command = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (!command.some((arg) => arg.includes(info.Id))) continue;
      const side = memoryCgroupOf(pid) === own ? found.inside : found.outside;
      side.kib += Number(/^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
      side.processes.push(path.basename(command[0]));
    } catch {
      // The process ended between the listing and the read: it holds no memory any more.
    }
  }
  const memory = (side: typeof found.inside) => ({ mib: side.kib / 1024, processes: side.processes.sort() });
  return { inside: memory(found.inside), outside: memory(found.outside) };
}

export const secondsSince = (started: number) => (Date.now() - started) / 1000;

/** The middle sample (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** `docker run` flags that give a container the healthcheck another one has, read from its inspect output. */
export function healthcheckFlags(info: ContainerInspectInfo): string[] {
  const health = info.Config.Healthcheck;
  if (!health?.Test) throw new Error(`${info.Name} has no healthcheck to copy`);
  const seconds = (nanoseconds: number | undefined) => `${(nanoseconds ?? 0) / 1e9}s`;
  return [
    "--health-cmd",
    health.Test.slice(1).join(" "),
    "--health-interval",
    seconds(health.Interval),
    "--health-timeout",
    seconds(health.Timeout),
    "--health-start-period",
    seconds(health.StartPeriod),
    "--health-retries",
    String(health.Retries ?? 0),
  ];
}

/** The container's recorded health check, as its start lines and a person would run it by hand. */
const checkOf = (container: string): string => docker(["inspect", "-f", '{{join (slice .Config.Healthcheck.Test 1) " "}}', container]);

const execFileAsync = promisify(execFile);

/**
 * Seconds until the container's first passing check, run by hand in a tight loop as soon as it runs: the
 * physical floor of readiness, with no schedule of the engine's in it. Asynchronous, as everything here
 * that waits on a check: the checks probe a host service this very process serves.
 */
export async function checkedByHandSeconds(container: string, started: number, timeoutMs = 120_000): Promise<number> {
  const check = checkOf(container);
  for (const deadline = Date.now() + timeoutMs; ; ) {
    const run = await execFileAsync("docker", ["exec", container, "/bin/sh", "-c", check]).then(
      () => undefined,
      (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ""}${error.stderr ?? ""}`,
    );
    if (run === undefined) return secondsSince(started);
    if (Date.now() >= deadline) throw new Error(`${container}: its check did not pass in ${timeoutMs / 1000} s: ${run}`);
  }
}

/**
 * Seconds the program's own start lines (container-start.ts) take to bring a stopped container to ready:
 * the pids limit applied and verified, the start, the check until it passes.
 */
export async function programStartSeconds(container: string, health: HealthTimings, pidsLimit: number, engine = engineClient()): Promise<number> {
  const started = Date.now();
  await execFileAsync("/bin/sh", ["-c", `set -eu\n${startHealthyLines(engine)}`], {
    env: { ...process.env, ...engine.env, CONTAINER: container, PIDS_LIMIT: String(pidsLimit), ...readinessEnvironment(health) },
  }).catch((error: { stderr?: string }) => {
    throw new Error(`the start lines failed on ${container}: ${error.stderr}`);
  });
  return secondsSince(started);
}

/**
 * What a person gets with `docker run` alone: the deployed proxies' and sandbox's images, environment and
 * user on one plain network, each run and then checked by hand until its check passes, one after the
 * other as the program orders them.
 */
export async function dockerRunFloorSeconds(names: { proxy: string; credentialProxy: string; sandbox: string }, labels: string[]): Promise<number> {
  const network = `${names.sandbox}-floor`;
  const runArgs = (info: ContainerInspectInfo, name: string, extra: string[]) => {
    return [
      "run",
      "-d",
      "--name",
      name,
      ...labels,
      "--network",
      network,
      ...extra,
      "--user",
      info.Config.User,
      ...info.Config.Env.flatMap((variable: string) => ["--env", variable]),
      ...healthcheckFlags(info),
      ...(info.Config.Entrypoint?.length ? ["--entrypoint", info.Config.Entrypoint[0]] : []),
      info.Image,
      ...(info.Config.Cmd ?? []),
    ];
  };
  const [proxyInfo, credentialProxyInfo, sandboxInfo] = [names.proxy, names.credentialProxy, names.sandbox].map(
    (name) => JSON.parse(docker(["inspect", name]))[0],
  );
  const mountAt = (info: ContainerInspectInfo, destination: string) => info.Mounts.find((mount) => mount.Destination === destination)!;
  const workspace = mountAt(sandboxInfo, "/workspace").Source;
  const secrets = mountAt(credentialProxyInfo, "/run/credential-proxy").Name;
  docker(["network", "create", ...labels, network]);
  const started = Date.now();
  const floorNames = [names.proxy, names.credentialProxy, names.sandbox].map((name) => `${name}-floor`);
  try {
    // The proxies start side by side, as `pulumi up` starts them, and are checked once both run; the sandbox waits for both.
    docker(runArgs(proxyInfo, floorNames[0], ["--network-alias", "egress-proxy", "--add-host", "host.docker.internal:host-gateway"]));
    docker(
      runArgs(credentialProxyInfo, floorNames[1], [
        "--network-alias",
        "credential-proxy",
        "--tmpfs",
        "/tmp",
        "--mount",
        `type=volume,source=${secrets},target=/run/credential-proxy,readonly`,
      ]),
    );
    await Promise.all([checkedByHandSeconds(floorNames[0], started), checkedByHandSeconds(floorNames[1], started)]);
    docker(runArgs(sandboxInfo, floorNames[2], ["--mount", `type=bind,source=${workspace},target=/workspace`, "--tmpfs", "/tmp"]));
    return await checkedByHandSeconds(floorNames[2], started);
  } finally {
    docker(["rm", "-f", ...floorNames]);
    docker(["network", "rm", network]);
  }
}

/**
 * Where a `pulumi up` spent its time, from the engine's own events: seconds from the up's start until
 * its first object (the sandbox's network) and until the agent image was loaded.
 */
export function upMilestones(
  started: number,
  ended: number,
  objects: { network: string; agentImageId: string },
): { firstObject: number; agentImageLoaded: number } {
  const events = docker(["events", "--since", String(started / 1000), "--until", String(ended / 1000), "--format", "{{json .}}"])
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { Type: string; Action: string; Actor: { ID: string; Attributes?: Record<string, string> }; timeNano: number });
  const at = (what: string, matches: (event: (typeof events)[number]) => boolean) => {
    const found = events.find(matches);
    if (!found) throw new Error(`no engine event of ${what} during the up`);
    return (found.timeNano / 1e6 - started) / 1000;
  };
  return {
    firstObject: at(
      "the network's creation",
      (event) => event.Type === "network" && event.Action === "create" && event.Actor.Attributes?.name === objects.network,
    ),
    agentImageLoaded: at("the agent image's load", (event) => event.Type === "image" && event.Action === "load" && event.Actor.ID === objects.agentImageId),
  };
}
