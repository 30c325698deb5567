/**
 * Measuring containers on the engine for the bench: start-to-healthy and memory from `docker inspect` and
 * `docker stats`, and the floor a deployed sandbox is compared with, the same containers by `docker run` alone.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import type { ContainerInspectInfo } from "dockerode";
import { waitHealthy } from "../../testkit/live/engine";

const ROOT = path.resolve(__dirname, "../..");

export function docker(args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], cwd: ROOT }).trim();
}

/** Seconds from the container's start to the end of its first passing health check, from inspect alone. */
export function startToHealthySeconds(container: string): number {
  const info = JSON.parse(docker(["inspect", container]))[0];
  const passed = (info.State.Health?.Log ?? []).find((entry: { ExitCode: number }) => entry.ExitCode === 0);
  if (!passed) throw new Error(`${container} has no passing health check: ${JSON.stringify(info.State.Health)}`);
  return (Date.parse(passed.End) - Date.parse(info.State.StartedAt)) / 1000;
}

export function memoryOf(container: string): string {
  return docker(["stats", "--no-stream", "--format", "{{.MemUsage}}", container]).split("/")[0].trim();
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
