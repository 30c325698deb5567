/**
 * How far a sandbox is kept from the host's kernel. `container`: the engine's default runtime (runc), so the
 * agent's system calls reach the host kernel, narrowed by the hardening baseline. `gvisor`: gVisor's runsc,
 * a kernel in user space between the agent and the host, so a kernel bug the agent finds is gVisor's, not the
 * host's. The proxies beside a sandbox stay on the default runtime: they look names up through Docker's
 * DNS, which gVisor's network stack cannot reach, and they run no agent code.
 */

export const Isolation = {
  /** The engine's default runtime (runc): works on every engine, Docker Desktop included. */
  Container: "container",
  /** gVisor's runsc runtime: a kernel of its own for the agent; the engine must offer it. */
  Gvisor: "gvisor",
} as const;
export type Isolation = (typeof Isolation)[keyof typeof Isolation];

/** The name Docker knows gVisor's runtime by (daemon.json `runtimes`, `docker run --runtime`). */
export const GVISOR_RUNTIME = "runsc";
/** The RuntimeClass a cluster runs runsc under (docs/kubernetes-cluster.md). */
export const GVISOR_RUNTIME_CLASS = "gvisor";

/** The isolation a container runs under, from the runtime the engine recorded for it (`HostConfig.Runtime`). */
export function isolationOfRuntime(runtime: string | undefined): Isolation {
  return runtime === GVISOR_RUNTIME ? Isolation.Gvisor : Isolation.Container;
}

/**
 * The docker.Container input that selects the runtime. None for `container`: the engine's default, as before
 * the setting existed, so existing stacks see no change.
 */
export function runtimeArgs(isolation: Isolation): { runtime?: string } {
  return isolation === Isolation.Gvisor ? { runtime: GVISOR_RUNTIME } : {};
}

/** runsc's host tasks per process inside, and at idle with headroom (measured: 38). */
const GVISOR_TASKS_PER_PROCESS = 2;
const GVISOR_IDLE_TASKS = 64;

/**
 * The engine's pids limit for a sandbox allowed `pids` processes. Under gVisor the engine counts runsc's own
 * host tasks, not the agent's processes: about 40 at idle and 2 per process inside (docs/gvisor-findings.md),
 * so the limit is translated to keep the agent's budget what the config says.
 */
export function enginePidsLimit(pids: number, isolation: Isolation): number {
  return isolation === Isolation.Gvisor ? GVISOR_TASKS_PER_PROCESS * pids + GVISOR_IDLE_TASKS : pids;
}

/** The agent's pids limit from the engine's (enginePidsLimit's inverse), for what `npm run status` reports. */
export function agentPidsLimit(enginePids: number, isolation: Isolation): number {
  return isolation === Isolation.Gvisor ? Math.floor((enginePids - GVISOR_IDLE_TASKS) / GVISOR_TASKS_PER_PROCESS) : enginePids;
}
