/**
 * What a sandbox is, whatever runs it: its user, environment, limits, health check and topology, computed
 * once from its config. The Docker rendering (container.ts) and the Kubernetes one (components/kubernetes)
 * turn this into their own objects; neither decides any of it again.
 */
import { agentProfile } from "../agents";
import { credentialProxyEnvironment } from "../credentials/plan";
import { CREDENTIAL_PROXY_HOSTNAME } from "../credentials/proxy-contract";
import { healthProbeEnvironment } from "../egress/config";
import { PROXY_URL, proxyEnvironment } from "../egress/network";
import type { ContainerLimits, HealthTimings } from "../hardening/baseline";
import { sizeToMegabytes } from "../values/schema";
import { DEFAULT_CPUS, type SandboxConfig } from "./config";
import { MAX_DISK_PERCENT_ENV } from "./contract";
import { type SandboxTopology, sandboxTopology } from "./topology";

/** Inside the agent image (docker/agent/bin). */
export const HEALTHCHECK_COMMAND = "/usr/local/bin/agent-healthcheck";
/** The sandbox's /tmp: memory-backed, this size. */
export const TMP_SIZE_BYTES = 1024 * 1024 * 1024;
/** The sandbox idles; agents run through exec, so a run never depends on the image's CMD. */
export const IDLE_COMMAND = ["sleep", "infinity"];

export interface SandboxDescription {
  readonly topology: SandboxTopology;
  /** The user its processes run as: the image's agent user, or root when acknowledged. */
  readonly user: { readonly uid: number; readonly gid: number };
  /** Its environment, sorted by name: the agent's defaults, the config's, then the proxies' (which win). */
  readonly env: readonly (readonly [string, string])[];
  readonly limits: ContainerLimits;
  /** The agent's process limit, before any runtime's own tasks are added (isolation.ts enginePidsLimit). */
  readonly pids: number;
  readonly health: { readonly command: string; readonly timings: HealthTimings };
}

/** The user a sandbox's processes run as: the image's agent user, or root when its config acknowledged root-user. */
export function sandboxUser(sandbox: Pick<SandboxConfig, "runAsRoot">, agent: { uid: number; gid: number }): { uid: number; gid: number } {
  return sandbox.runAsRoot ? { uid: 0, gid: 0 } : agent;
}

export function describeSandbox(sandbox: SandboxConfig, agent: { uid: number; gid: number }): SandboxDescription {
  const topology = sandboxTopology(sandbox);
  const health = sandbox.healthcheck;
  const egressEnv = topology.egressProxy
    ? { ...proxyEnvironment(PROXY_URL, [CREDENTIAL_PROXY_HOSTNAME]), ...healthProbeEnvironment(sandbox.egress, sandbox.agent, sandbox.auth) }
    : {};
  const env = Object.entries({
    ...agentProfile(sandbox.agent).envDefaults,
    ...sandbox.env,
    ...egressEnv,
    ...(topology.credentialProxy ? credentialProxyEnvironment(sandbox) : {}),
    [MAX_DISK_PERCENT_ENV]: String(health.maxDiskPercent),
  }).sort(([a], [b]) => a.localeCompare(b));
  return {
    topology,
    user: sandboxUser(sandbox, agent),
    env,
    limits: {
      memoryMb: sizeToMegabytes(sandbox.resources.memory),
      swapMb: sizeToMegabytes(sandbox.resources.swap),
      cpus: sandbox.resources.cpus ?? DEFAULT_CPUS,
      openFiles: sandbox.resources.openFiles,
    },
    pids: sandbox.resources.pids,
    health: {
      command: HEALTHCHECK_COMMAND,
      timings: { interval: health.interval, timeout: health.timeout, startPeriod: health.startPeriod, retries: health.retries },
    },
  };
}
