/**
 * The engine the live suites run their sandboxes on, one parameter for all of them, like the isolation
 * (isolation.ts): AGENT_SANDBOX_LIVE_ENGINE=podman runs every suite on rootful Podman's Docker-compatible API
 * (scripts/setup-engine.sh --podman), unset (or "docker") on the local Docker engine. The tests' own docker
 * CLI calls and dockerode clients reach that engine through DOCKER_HOST, set here before any client is made
 * (engine.ts imports this first), and every stack declares it with `docker.engine`.
 */
import { ENGINE_KINDS, type EngineKind } from "../../components/engine/config";
import { type Engine, engineOfKind } from "../../components/engine/engine";

export const ENGINE_VARIABLE = "AGENT_SANDBOX_LIVE_ENGINE";

/** The engine named by AGENT_SANDBOX_LIVE_ENGINE; anything else than a known engine is a mistake worth failing on. */
export function liveEngineFrom(value: string | undefined): EngineKind {
  if (value === undefined || value === "") return "docker";
  if (!(ENGINE_KINDS as readonly string[]).includes(value)) throw new Error(`${ENGINE_VARIABLE}=${value}: must be one of ${ENGINE_KINDS.join(", ")}`);
  return value as EngineKind;
}

/** The engine of this run's live sandboxes. */
export const LIVE_ENGINE: Engine = engineOfKind(liveEngineFrom(process.env[ENGINE_VARIABLE]));

/** Whether this run's sandboxes are on Podman. */
export const onPodman = LIVE_ENGINE.kind === "podman";

if (onPodman && !process.env.DOCKER_HOST) process.env.DOCKER_HOST = LIVE_ENGINE.defaultHost;

/** The stack config's `docker` section for this run: none on Docker, so stacks older than the setting still accept it. */
export function engineField(): { docker?: { engine: EngineKind } } {
  return onPodman ? { docker: { engine: LIVE_ENGINE.kind } } : {};
}
