/**
 * What the engine says of itself, asked before anything is declared: which container runtimes it offers (a
 * sandbox under gVisor on an engine without runsc would otherwise fail at its container's creation, halfway
 * through a deployment) and how many CPUs its host has (the only host fact a remote engine can give).
 */
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { type EngineClient, runCli } from "./client";
import { SKIP_ENGINE_CHECK } from "./engine-check";

export interface EngineFacts {
  /** The runtime names the engine offers. */
  readonly runtimes: readonly string[];
  /** The CPUs of the engine's host, when it reports them. */
  readonly cpus?: number;
  /** What the engine answers as: its version's first component ("Engine" for Docker, "Podman Engine"). */
  readonly component?: string;
  /** Whether it runs rootless, and its host's cgroup version, where it says so. */
  readonly rootless?: boolean;
  readonly cgroupVersion?: string;
}

/** Why the engine could not be asked: the CLI's own error (over ssh, ssh's: a refused key, an unknown host key). */
export interface EngineFailure {
  readonly failure: string;
}

/** What the engine reports (the CLI's `info`), or why it could not be asked. */
export type EngineFactsProbe = (engine: EngineClient) => EngineFacts | EngineFailure;

export const realEngineFactsProbe: EngineFactsProbe = (engine) => {
  const failed = (result: ReturnType<typeof runCli>, what: string) =>
    result.stderr?.trim() || result.error?.message || `${engine.cli} ${what} exited ${result.status ?? result.signal}`;
  const info = runCli(engine, ["info", "--format", "{{json .Runtimes}}\t{{.NCPU}}\t{{json .SecurityOptions}}\t{{.CgroupVersion}}"], 15_000);
  if (info.status !== 0) return { failure: failed(info, "info") };
  const version = runCli(engine, ["version", "--format", "{{json .Server.Components}}"], 15_000);
  if (version.status !== 0) return { failure: failed(version, "version") };
  const [runtimes, cpus, securityOptions, cgroupVersion] = info.stdout.trim().split("\t");
  try {
    const [component] = (JSON.parse(version.stdout) as { Name: string }[] | null) ?? [];
    const rootless = ((JSON.parse(securityOptions ?? "null") as string[] | null) ?? []).some((option) => option.split(",").includes("name=rootless"));
    return {
      runtimes: Object.keys(JSON.parse(runtimes) as Record<string, unknown>),
      ...(Number(cpus) > 0 ? { cpus: Number(cpus) } : {}),
      ...(component ? { component: component.Name } : {}),
      rootless,
      ...(cgroupVersion ? { cgroupVersion } : {}),
    };
  } catch {
    return { failure: `${engine.cli} info printed no runtimes: ${info.stdout.trim()}` };
  }
};

/** The probe a real deployment uses; none under Pulumi's mocks or with the engine check switched off. */
export function defaultEngineFactsProbe(env: NodeJS.ProcessEnv = process.env): EngineFactsProbe | undefined {
  if (env[SKIP_ENGINE_CHECK] === "1") return undefined;
  return pulumi.runtime.getMonitor() instanceof MockMonitor ? undefined : realEngineFactsProbe;
}

/** The problem of a remote engine whose port answers but whose engine the CLI cannot ask (`failure`), naming the setting and the check. */
export function remoteEngineProblem(setting: string, url: string, failure: string, check: string): string {
  return `${setting}: the engine at "${url}" does not answer (${failure}); over ssh, check that your key is authorized there, its host key is in your known_hosts and its user may use the engine, then check it with: ${check}`;
}

/** The problem of a setting that needs `runtime` on an engine that does not offer it (`offered`), naming the key and the fix. */
export function missingRuntimeProblem(key: string, runtime: string, engine: string, offered: readonly string[]): string {
  return `${key}: "gvisor" runs the sandbox under the engine's runtime "${runtime}", which the engine at ${engine} does not offer (it offers: ${offered.join(", ") || "none"}); on Docker Engine build and register it with scripts/setup-pulumi.sh and scripts/setup-engine.sh (or add it to daemon.json's "runtimes" and reload dockerd: docs/security-model.md), or set isolation: "container" (Docker Desktop cannot run gVisor)`;
}
