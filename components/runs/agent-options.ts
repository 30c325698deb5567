/**
 * Which of a run's options its sandbox's agent has: `maxTurns`, `allowedTools`, `model`, `resume` and `fork`
 * map to each CLI's own flags where it has them (the agent profile's `runOptions`), and a run that sets one
 * its agent lacks is refused rather than silently run without it.
 */
import type { z } from "zod";
import { AGENT_PROFILES, type AgentProfile, type AgentRunOption } from "../agents";

interface LooseRunOptions {
  readonly sandbox?: unknown;
  readonly maxTurns?: unknown;
  readonly allowedTools?: unknown;
  readonly model?: unknown;
  readonly resume?: unknown;
  readonly fork?: unknown;
}

/** Whether the run's config sets the option (a default is no request). */
const REQUESTED: Record<AgentRunOption, (run: LooseRunOptions) => boolean> = {
  maxTurns: (run) => run.maxTurns !== undefined,
  allowedTools: (run) => Array.isArray(run.allowedTools) && run.allowedTools.length > 0,
  model: (run) => run.model !== undefined,
  resume: (run) => run.resume !== undefined,
  fork: (run) => run.fork === true,
};

/** The options a run sets that `agent` does not have. */
function unsupportedRunOptions(run: LooseRunOptions, agent: AgentProfile): AgentRunOption[] {
  return (Object.keys(REQUESTED) as AgentRunOption[]).filter((option) => REQUESTED[option](run) && !agent.runOptions.includes(option));
}

/** Refuses, at `runs[i].<option>`, each option a run sets that the agent of its sandbox lacks. */
export function agentOptionRules(runs: readonly LooseRunOptions[], agentOfSandbox: (sandbox: unknown) => AgentProfile | undefined, ctx: z.RefinementCtx): void {
  runs.forEach((run, index) => {
    const agent = run && agentOfSandbox(run.sandbox);
    if (!agent) return;
    for (const option of unsupportedRunOptions(run, agent)) {
      const having = Object.values(AGENT_PROFILES)
        .filter((other) => other.runOptions.includes(option))
        .map((other) => other.name);
      ctx.addIssue({
        code: "custom",
        path: ["runs", index, option],
        message: `sandbox "${String(run.sandbox)}" runs ${agent.name}, whose CLI has no ${option} (${agent.name} takes: ${agent.runOptions.join(", ") || "none of the run options"}); remove ${option} from this run, or run it in a sandbox of an agent that has it (${having.join(", ")})`,
      });
    }
  });
}
