/**
 * Reads Claude Code's `--output-format stream-json` stdout: one JSON object per line (system init,
 * assistant and user messages, retries, then one `result` line). The CLI adds fields between releases, so
 * every schema keeps unknown fields and unknown line types pass through; only the fields read here are
 * checked. Shapes come from real runs recorded in tests/fixtures/claude-stream/.
 */
import { z } from "zod";
import { anthropic } from "../providers/anthropic";
import type { AgentRunSummary } from "../run-summary";
import { clip, jsonLines, lastLines } from "../stream-lines";

export const systemInitLineSchema = z.looseObject({
  type: z.literal("system"),
  subtype: z.literal("init"),
  session_id: z.string(),
  model: z.string().optional(),
  cwd: z.string().optional(),
  claude_code_version: z.string().optional(),
});

/** Printed before each retry of a failed API call; the last one explains a run killed while retrying. */
export const apiRetryLineSchema = z.looseObject({
  type: z.literal("system"),
  subtype: z.literal("api_retry"),
  attempt: z.number(),
  max_retries: z.number(),
  error_status: z.number().nullable().optional(),
  error: z.string().optional(),
});

const contentBlockSchema = z.looseObject({ type: z.string() });

/**
 * One line per content block of a model response, all sharing the response's `message.id`; counting
 * distinct ids gives the turns of a run that died before its result line.
 */
export const assistantLineSchema = z.looseObject({
  type: z.literal("assistant"),
  message: z.looseObject({ id: z.string(), content: z.array(contentBlockSchema) }),
  session_id: z.string().optional(),
});

/**
 * The run's outcome. `subtype` is `success` or `error_*` (error_max_turns, error_during_execution…), but
 * an API failure ends with subtype `success` and `is_error: true`, so both must be read. Error subtypes
 * carry no `result`; their messages are in `errors`.
 */
export const resultLineSchema = z.looseObject({
  type: z.literal("result"),
  subtype: z.string(),
  is_error: z.boolean(),
  num_turns: z.int().min(0),
  duration_ms: z.number().nonnegative(),
  total_cost_usd: z.number().nonnegative().optional(),
  result: z.string().optional(),
  errors: z.array(z.string()).optional(),
  session_id: z.string().optional(),
});

export type SystemInitLine = z.infer<typeof systemInitLineSchema>;
export type ApiRetryLine = z.infer<typeof apiRetryLineSchema>;
export type AssistantLine = z.infer<typeof assistantLineSchema>;
export type ResultLine = z.infer<typeof resultLineSchema>;

/** Summarises a whole stdout; never throws, so a broken run still yields a readable failure. */
export function parseAgentStream(stdout: string): AgentRunSummary {
  const { lines, objects } = jsonLines(stdout);
  const lastResult = objects.findLast((value) => value.type === "result");
  if (lastResult === undefined) return missingResultSummary(objects, lines);

  const parsed = resultLineSchema.safeParse(lastResult);
  if (!parsed.success) {
    return failedSummary(objects, `the agent's result line has an unexpected shape (${z.prettifyError(parsed.error)}): ${clip(JSON.stringify(lastResult))}`);
  }
  return summaryFromResult(parsed.data);
}

export function summaryFromResult(result: ResultLine): AgentRunSummary {
  const success = result.subtype === "success" && !result.is_error;
  const common = {
    resultText: result.result ?? "",
    turns: result.num_turns,
    durationMs: result.duration_ms,
    costUsd: result.total_cost_usd,
    sessionId: result.session_id,
  };
  if (success) return { success, ...common };
  const messages = result.errors?.filter((message) => message.trim() !== "") ?? [];
  const own = messages.length > 0 ? messages.join("; ") : result.result?.trim();
  return { success, ...common, error: anthropic.maskKeys(own ? own : `the agent ended with ${result.subtype} and gave no message`) };
}

/** Killed, crashed or cut-off runs print no result line: say so and show what they printed last. */
function missingResultSummary(objects: readonly Record<string, unknown>[], lines: readonly string[]): AgentRunSummary {
  if (lines.length === 0) return failedSummary(objects, "the agent printed nothing on stdout (no result line)");
  const retry = objects.map((value) => apiRetryLineSchema.safeParse(value)).findLast((parsed) => parsed.success)?.data;
  const retrying = retry
    ? ` It was retrying a failed API call: attempt ${retry.attempt} of ${retry.max_retries}, HTTP ${retry.error_status ?? "?"} ${retry.error ?? ""}.`.trimEnd()
    : "";
  return failedSummary(objects, `the agent's output ended without a result line (killed or crashed?).${retrying}\n${lastLines(lines)}`);
}

function failedSummary(objects: readonly Record<string, unknown>[], error: string): AgentRunSummary {
  const init = objects.map((value) => systemInitLineSchema.safeParse(value)).find((parsed) => parsed.success)?.data;
  const responses = new Set(
    objects.flatMap((value) => {
      const parsed = assistantLineSchema.safeParse(value);
      return parsed.success ? [parsed.data.message.id] : [];
    }),
  );
  return { success: false, resultText: "", turns: responses.size, durationMs: 0, sessionId: init?.session_id, error: anthropic.maskKeys(error) };
}
