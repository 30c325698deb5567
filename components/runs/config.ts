/**
 * The runs section of the stack config (`runs[i]`): its zod schema with every key's default and message,
 * and the rules of a run and across runs: a prompt is given inline or as a file, one of the two; a session
 * chain (`resume`) names another run of the same sandbox and never comes back to where it started, one
 * session is continued (not forked) by one run at most, `fork` needs a session to fork, and `keepFinished`
 * needs ephemeral containers to keep.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { count, objectName, strictObject } from "../values/schema";

export const runSchema = strictObject({
  name: objectName,
  sandbox: objectName,
  prompt: z.string().min(1, { error: "must not be empty" }).optional(),
  promptFile: z.string({ error: 'must be a path like "prompts/review.md"' }).min(1, { error: 'must be a path like "prompts/review.md"' }).optional(),
  // No default here: a limit is only asked of CLIs that have one; each agent profile has its own default.
  maxTurns: count(20, 1).optional(),
  model: z.string().min(1).optional(),
  allowedTools: z.array(z.string().min(1)).default([]),
  triggers: z.array(z.string()).default([]),
  ephemeral: z.boolean().default(false),
  // The most a person would look through; more is a leak of containers, not a history.
  keepFinished: count(0, 0, "finished containers kept for inspection", 100).default(0),
  resume: objectName.optional(),
  fork: z.boolean().default(false),
});

/** A run as the schema reads it: its prompt inline, or the path of a file holding it (read by prompt-file.ts). */
export type ParsedRun = z.infer<typeof runSchema>;

/**
 * A validated run whose prompt is known: inline, read from its promptFile, or an output of another resource
 * (the config's resolve-args puts those back, and output triggers too).
 */
export type RunConfig = Omit<ParsedRun, "prompt" | "triggers"> & {
  prompt: pulumi.Input<string>;
  triggers: pulumi.Input<string>[];
  /** sha256 (hex) of the promptFile's content, when the prompt was read from one. */
  promptFileSha256?: string;
};

interface LooseRun {
  readonly name?: unknown;
  readonly sandbox?: unknown;
  readonly prompt?: unknown;
  readonly promptFile?: unknown;
  readonly ephemeral?: unknown;
  readonly keepFinished?: unknown;
  readonly resume?: unknown;
  readonly fork?: unknown;
}

export function runRules(runs: readonly LooseRun[], ctx: z.RefinementCtx): void {
  const byName = new Map(runs.filter((run) => typeof run?.name === "string").map((run) => [run.name as string, run]));
  runs.forEach((run, index) => {
    const issue = (key: string, message: string) => ctx.addIssue({ code: "custom", path: ["runs", index, key], message });
    if (typeof run === "object" && run !== null) promptSourceRule(run, issue);
    if (typeof run?.keepFinished === "number" && run.keepFinished > 0 && run.ephemeral !== true) {
      issue("keepFinished", "keeps finished ephemeral run containers, but this run is not ephemeral; set ephemeral: true or remove keepFinished");
    }
    if (run?.fork === true && run.resume === undefined) {
      issue("fork", 'forks the session of the run named in resume, but resume is unset; set resume: "<another run>" or remove fork');
    }
    if (typeof run?.resume !== "string") return;
    const sameSandbox = [...byName.values()].filter((other) => other.sandbox === run.sandbox && other.name !== run.name).map((other) => other.name);
    const choices = sameSandbox.length > 0 ? `one of: ${sameSandbox.join(", ")}` : `no other run is in sandbox "${run.sandbox}"`;
    const resumed = byName.get(run.resume);
    if (run.resume === run.name) issue("resume", `names this run itself; resume another run of the same sandbox (${choices})`);
    else if (!resumed) issue("resume", `"${run.resume}" is not a configured run; resume a run of the same sandbox (${choices})`);
    else if (resumed.sandbox !== run.sandbox) {
      issue(
        "resume",
        `run "${run.resume}" is in sandbox "${resumed.sandbox}", not "${run.sandbox}"; sessions live in a sandbox's home volume, so resume a run of the same sandbox (${choices})`,
      );
    } else {
      const circle = chainFrom(run.name as string, byName);
      if (circle) issue("resume", `runs ${circle.join(" -> ")} resume each other in a circle; let one of them start its own session (remove its resume)`);
      const continuedBy = runs.slice(0, index).find((other) => other?.resume === run.resume && other.fork !== true);
      if (!circle && run.fork !== true && continuedBy) {
        issue(
          "resume",
          `run "${run.resume}" is already continued by "${continuedBy.name}"; two runs appending to one session would write it at once, in no fixed order; set fork: true on this run, or resume "${continuedBy.name}" instead`,
        );
      }
    }
  });
}

/** A run's prompt is inline or in a file: exactly one of the two keys. */
function promptSourceRule(run: LooseRun, issue: (key: string, message: string) => void): void {
  if (run.prompt !== undefined && run.promptFile !== undefined) {
    issue("promptFile", "set either prompt (the text itself) or promptFile (a file holding it), not both; remove one of the two");
  } else if (run.prompt === undefined && run.promptFile === undefined) {
    issue("prompt", 'missing; set prompt: "Review the last commit", or promptFile: "prompts/review.md" (a file holding the prompt; a long prompt must be one)');
  }
}

/** The names met following `resume` from `start` back to `start`, or undefined when the chain ends. */
function chainFrom(start: string, byName: Map<string, LooseRun>): string[] | undefined {
  const seen = [start];
  for (let next = byName.get(start)?.resume; typeof next === "string"; next = byName.get(next)?.resume) {
    seen.push(next);
    if (next === start) return seen;
    if (seen.indexOf(next) !== seen.length - 1) return undefined;
  }
  return undefined;
}
