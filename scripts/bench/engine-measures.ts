/**
 * Measuring containers on the engine for the bench: start-to-healthy and memory from `docker inspect` and
 * `docker stats`, and the floor a deployed sandbox is compared with, the same containers by `docker run` alone.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ContainerInspectInfo } from "dockerode";
import { waitHealthy } from "../../testkit/live/engine";

const ROOT = path.resolve(__dirname, "../..");

export function docker(args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], cwd: ROOT }).trim();
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

/**
 * What a person gets with `docker run` alone: the deployed proxy's and sandbox's images, environment, user
 * and healthchecks on one plain network, each run until healthy, one after the other as the program does.
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
    const runHealthy = async (info: ContainerInspectInfo, name: string, extra: string[]) => {
      docker(runArgs(info, name, extra));
      const state = await waitHealthy(name, 120_000);
      if (state.State.Health?.Status !== "healthy") throw new Error(`${name} did not become healthy: ${JSON.stringify(state.State.Health)}`);
    };
    // The two proxies start side by side, as `pulumi up` starts them; the sandbox waits for both.
    await Promise.all([
      runHealthy(proxyInfo, floorNames[0], ["--network-alias", "egress-proxy", "--add-host", "host.docker.internal:host-gateway"]),
      runHealthy(credentialProxyInfo, floorNames[1], [
        "--network-alias",
        "credential-proxy",
        "--tmpfs",
        "/tmp",
        "--mount",
        `type=volume,source=${secrets},target=/run/credential-proxy,readonly`,
      ]),
    ]);
    await runHealthy(sandboxInfo, floorNames[2], ["--mount", `type=bind,source=${workspace},target=/workspace`, "--tmpfs", "/tmp"]);
    return secondsSince(started);
  } finally {
    docker(["rm", "-f", ...floorNames]);
    docker(["network", "rm", network]);
  }
}
