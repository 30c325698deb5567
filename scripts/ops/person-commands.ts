/**
 * The commands a person runs on one sandbox (`npm run shell|logs|agent -- <sandbox>`), built from the
 * stack's outputs, and what they are told when the sandbox cannot take them. Pure: sandbox.ts runs them.
 */
import type { SandboxInfo } from "../../components/agent-sandboxes";
import { type EngineClient, typedCommand } from "../../components/engine/client";
import { shellQuote } from "../../components/engine/shell";
import { DOCKER_CONTAINER, type SandboxWorkload } from "./refresh-plan";

export const VERBS = ["shell", "logs", "agent"] as const;
export type Verb = (typeof VERBS)[number];

export const USAGE: Record<Verb, string> = {
  shell: "npm run shell -- <sandbox> [--stack NAME]",
  logs: "npm run logs -- <sandbox> [docker logs flags, e.g. --follow --tail 50] [--stack NAME]",
  agent: "npm run agent -- <sandbox> [prompt] [--stack NAME]",
};

/** The shell line to run: the stack's own `shell`/`runAgent` output, or the engine's `logs` of its container. */
export function personCommand(verb: Verb, info: SandboxInfo, engine: EngineClient, extra: readonly string[]): string {
  if (verb === "shell") return info.shell;
  if (verb === "logs") return typedCommand(engine, ["logs", ...extra, info.container]);
  // The agent CLI takes an initial prompt as its argument and stays interactive.
  return extra.length > 0 ? `${info.runAgent} ${shellQuote(extra.join(" "))}` : info.runAgent;
}

/**
 * Why the verb cannot run on a sandbox in `state` (missing: no such container or pod), or undefined when it
 * can. `notReady`: why a running pod is not Ready yet; `workload`: what runs the sandbox (a container by default).
 */
export function unavailableMessage(
  verb: Verb,
  stack: string,
  sandbox: string,
  state: string,
  { notReady, workload = DOCKER_CONTAINER }: { notReady?: string; workload?: SandboxWorkload } = {},
): string | undefined {
  const stackFlag = stack === "dev" ? "" : ` --stack ${stack}`;
  const refresh = `npm run refresh -- ${sandbox}${stackFlag} starts a new one (${workload.home} and workspace kept)`;
  // Logs outlive a stopped container or an unready pod; a shell and the agent need it running (and Ready).
  if (verb === "logs" ? state !== "missing" : state === "running" && notReady === undefined) return undefined;
  if (state === "running") return `sandbox ${sandbox} of stack ${stack} is not Ready (${notReady}): npm run status${stackFlag} shows why; ${refresh}`;
  const what = state === "missing" ? `has no ${workload.noun} ${workload.where}` : `is not running (${state})`;
  return `sandbox ${sandbox} of stack ${stack} ${what}: ${refresh}`;
}
