/**
 * The isolation the live suites run their sandboxes under, one parameter for all of them:
 * AGENT_SANDBOX_LIVE_ISOLATION=gvisor runs every suite's sandboxes on gVisor's runsc, unset (or "container")
 * on the engine's default runtime. CI runs the sandbox suites once with each, so the same proofs hold under
 * both; where gVisor legitimately keeps a promise differently (docs/gvisor-findings.md), a suite asks
 * `underGvisor` and asserts the promise in gVisor's terms, and the program's own decisions (the engine pids
 * limit, the network plan) come from the program's functions, never from numbers written in the test.
 */
import { enginePidsLimit, Isolation } from "../../components/hardening/isolation";

export const ISOLATION_VARIABLE = "AGENT_SANDBOX_LIVE_ISOLATION";

/** The isolation named by AGENT_SANDBOX_LIVE_ISOLATION; anything else than the two names is a mistake worth failing on. */
export function liveIsolationFrom(value: string | undefined): Isolation {
  if (value === undefined || value === "") return Isolation.Container;
  const known = Object.values(Isolation) as string[];
  if (!known.includes(value)) throw new Error(`${ISOLATION_VARIABLE}=${value}: must be one of ${known.join(", ")}`);
  return value as Isolation;
}

/** The isolation of this run's live sandboxes. */
export const LIVE_ISOLATION: Isolation = liveIsolationFrom(process.env[ISOLATION_VARIABLE]);

/** Whether this run's sandboxes are on gVisor. */
export const underGvisor = LIVE_ISOLATION === Isolation.Gvisor;

/**
 * The `isolation` field of a sandbox entry for this run: none under `container`, so programs older than the
 * setting (the upgrade suites deploy them) still accept the entry, and the default stays what is proven.
 */
export function isolationField(): { isolation?: Isolation } {
  return underGvisor ? { isolation: LIVE_ISOLATION } : {};
}

/**
 * The engine pids limit (HostConfig.PidsLimit, the host cgroup's pids.max) the program gives a sandbox allowed
 * `pids` processes under this run's isolation: the program's own translation, so a suite asserts its decision.
 */
export function liveEnginePids(pids: number): number {
  return enginePidsLimit(pids, LIVE_ISOLATION);
}
