/**
 * How a command reaches a running sandbox, named by the variable CONTAINER, as its agent user in /workspace:
 * `docker exec` on an engine, `kubectl exec` on a cluster (kubernetes/kubectl.ts). Runs, their change
 * reports and the first clone go through this, so they read the same on both targets.
 */
import { cliCommand, type EngineClient } from "../engine/client";
import { WORKSPACE_PATH } from "./contract";

export interface SandboxExec {
  /** The shell line running `words` (already quoted) in the sandbox; `stdin` passes the line's stdin on. */
  readonly line: (words: string, options?: { readonly stdin?: boolean }) => string;
  /** Variables the line reads, for the command's environment (the engine's address…). */
  readonly env: Record<string, string>;
}

/** On an engine: `docker exec`, as the user in AGENT_USER. */
export function engineExec(engine: EngineClient): SandboxExec {
  return {
    env: engine.env,
    line: (words, options) => `${cliCommand(engine)} exec ${options?.stdin ? "-i " : ""}-u "$AGENT_USER" -w ${WORKSPACE_PATH} "$CONTAINER" ${words}`,
  };
}
