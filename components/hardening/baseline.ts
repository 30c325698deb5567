/**
 * The hardening every container the program runs shares: the sandbox, the egress proxy, and the
 * throwaway container that writes the credentials. Decided here once; the components add only what is
 * their own (the sandbox's acknowledged capabilities, the proxy's user), and the policy pack (policy/)
 * refuses containers that lose any of it.
 */
import type * as docker from "@pulumi/docker";
import { type Isolation, runtimeArgs } from "./isolation";

export const NO_NEW_PRIVILEGES = "no-new-privileges:true";

/** The CFS period a CPU quota is a share of: the one Docker's own `--cpus` uses (100 ms). */
export const CPU_PERIOD_US = 100_000;

/**
 * A CPU limit as docker.Container inputs: the CFS quota `--cpus` would set, given as integers. Not `cpus`:
 * the provider reads NanoCpus back through its own decimal formatting ("2" returns as "2.0", 0.01 as
 * "0.0"), so every preview and refresh after an up saw a change and replaced the container.
 */
export function cpuLimitArgs(cpus: number): { cpuPeriod: number; cpuQuota: number } {
  return { cpuPeriod: CPU_PERIOD_US, cpuQuota: Math.round(cpus * CPU_PERIOD_US) };
}

/**
 * The container inputs that leave it created but stopped, for the start command (container-start.ts)
 * to apply the pids limit before the first process runs, start it and wait for it to be healthy.
 */
export const CREATED_STOPPED = { start: false, mustRun: false, wait: false } as const;

export interface ContainerLimits {
  readonly memoryMb: number;
  /** Swap on top of memory, in MB; 0 for none. */
  readonly swapMb: number;
  readonly cpus: number;
  /** RLIMIT_NOFILE, soft = hard. */
  readonly openFiles: number;
}

/** The healthcheck timings (docker.Container healthcheck durations); the start command waits for them. */
export interface HealthTimings {
  readonly interval: string;
  readonly timeout: string;
  readonly startPeriod: string;
  readonly retries: number;
}

export interface HardenedContainer {
  /** Capabilities added back after dropping all; only an acknowledged sandbox config has any. */
  readonly capAdd?: readonly string[];
  readonly limits: ContainerLimits;
  /** Absolute path of the check inside the image. */
  readonly healthcheckCommand: string;
  readonly health: HealthTimings;
  /** The runtime the container runs under: its sandbox's (proxies follow their sandbox). */
  readonly isolation: Isolation;
}

/**
 * docker.Container inputs of a hardened container: no capabilities, no privilege gain, a read-only root,
 * memory, swap, CPU and open-file limits, bounded logs, a healthcheck, its runtime, and created stopped (the
 * pids limit is applied before it starts).
 */
export function hardenedContainerArgs(container: HardenedContainer) {
  const { limits, health } = container;
  return {
    capabilities: container.capAdd ? { drops: ["ALL"], adds: [...container.capAdd] } : { drops: ["ALL"] },
    securityOpts: [NO_NEW_PRIVILEGES],
    readOnly: true,
    memory: limits.memoryMb,
    memorySwap: limits.memoryMb + limits.swapMb,
    ...cpuLimitArgs(limits.cpus),
    ulimits: [{ name: "nofile", soft: limits.openFiles, hard: limits.openFiles }],
    logDriver: "json-file",
    logOpts: { "max-size": "10m", "max-file": "3" },
    healthcheck: { tests: ["CMD", container.healthcheckCommand], ...health },
    ...runtimeArgs(container.isolation),
    ...CREATED_STOPPED,
  } satisfies Partial<docker.ContainerArgs>;
}

/** The same baseline as `docker run` flags, for a short-lived container: no network and no capabilities; no privilege gain and a read-only root. */
export const HARDENED_RUN_FLAGS = {
  isolation: "--network none --cap-drop ALL",
  privileges: `--security-opt ${NO_NEW_PRIVILEGES} --read-only`,
} as const;
