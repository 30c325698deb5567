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
}

/** What the engine reports (the CLI's `info`), or undefined when it could not be asked. */
export type EngineFactsProbe = (engine: EngineClient) => EngineFacts | undefined;

export const realEngineFactsProbe: EngineFactsProbe = (engine) => {
  const result = runCli(engine, ["info", "--format", "{{json .Runtimes}} {{.NCPU}}"], 15_000);
  if (result.status !== 0) return undefined;
  const [runtimes, cpus] = result.stdout.trim().split(" ");
  try {
    return { runtimes: Object.keys(JSON.parse(runtimes) as Record<string, unknown>), ...(Number(cpus) > 0 ? { cpus: Number(cpus) } : {}) };
  } catch {
    return undefined;
  }
};

/** The probe a real deployment uses; none under Pulumi's mocks or with the engine check switched off. */
export function defaultEngineFactsProbe(env: NodeJS.ProcessEnv = process.env): EngineFactsProbe | undefined {
  if (env[SKIP_ENGINE_CHECK] === "1") return undefined;
  return pulumi.runtime.getMonitor() instanceof MockMonitor ? undefined : realEngineFactsProbe;
}

/** The problem of a setting that needs `runtime` on an engine that does not offer it (`offered`), naming the key and the fix. */
export function missingRuntimeProblem(key: string, runtime: string, engine: string, offered: readonly string[]): string {
  return `${key}: "gvisor" runs the sandbox under the engine's runtime "${runtime}", which the engine at ${engine} does not offer (it offers: ${offered.join(", ") || "none"}); on Docker Engine build and register it with scripts/setup-pulumi.sh and scripts/setup-engine.sh (or add it to daemon.json's "runtimes" and reload dockerd: docs/security-model.md), or set isolation: "container" (Docker Desktop cannot run gVisor)`;
}
