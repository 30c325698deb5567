/**
 * Reads `codex exec --json` stdout: one JSON event per line. A run prints `thread.started` (the session id),
 * then per turn `turn.started`, items (`item.started` / `item.completed`: command_execution, agent_message,
 * error…) and `turn.completed` or `turn.failed`. Top-level `error` lines report retries ("Reconnecting...
 * 2/5") and the final failure. Items of type `error` are warnings (e.g. unknown model metadata) and do not
 * fail a run. Codex reports neither duration nor cost. Shapes come from real runs recorded in
 * tests/fixtures/codex-stream/; unknown events and fields pass through.
 */
import { z } from "zod";
import { openai } from "../providers/openai";
import type { AgentRunSummary } from "../run-summary";
import { clip, jsonLines, lastLines } from "../stream-lines";

export const threadStartedSchema = z.looseObject({ type: z.literal("thread.started"), thread_id: z.string() });

export const turnFailedSchema = z.looseObject({
  type: z.literal("turn.failed"),
  error: z.looseObject({ message: z.string() }).optional(),
});

export const errorEventSchema = z.looseObject({ type: z.literal("error"), message: z.string() });

export const agentMessageSchema = z.looseObject({
  type: z.literal("item.completed"),
  item: z.looseObject({ type: z.literal("agent_message"), text: z.string() }),
});

/** Summarises a whole stdout; never throws, so a broken run still yields a readable failure. */
export function parseCodexExec(stdout: string): AgentRunSummary {
  const { lines, objects: events } = jsonLines(stdout);
  const sessionId = events.map((event) => threadStartedSchema.safeParse(event)).findLast((parsed) => parsed.success)?.data.thread_id;
  const turns = events.filter((event) => event.type === "turn.started").length;
  const resultText = events.map((event) => agentMessageSchema.safeParse(event)).findLast((parsed) => parsed.success)?.data.item.text ?? "";
  const common = { resultText, turns, durationMs: 0, sessionId };

  const lastEnd = events.findLast((event) => event.type === "turn.completed" || event.type === "turn.failed");
  if (lastEnd?.type === "turn.completed") return { success: true, ...common };
  if (lastEnd !== undefined) {
    const message = turnFailedSchema.safeParse(lastEnd).data?.error?.message?.trim();
    return { success: false, ...common, error: openai.maskKeys(message ? message : "the agent's turn failed and it gave no message") };
  }
  return { success: false, ...common, error: openai.maskKeys(missingEndMessage(events, lines)) };
}

/** Killed, crashed or cut-off runs end no turn: say so, with the last error Codex reported and its last lines. */
function missingEndMessage(events: readonly Record<string, unknown>[], lines: readonly string[]): string {
  if (lines.length === 0) return "the agent printed nothing on stdout (no turn.completed or turn.failed line)";
  const lastError = events.map((event) => errorEventSchema.safeParse(event)).findLast((parsed) => parsed.success)?.data.message;
  const reported = lastError ? ` Its last error: ${clip(lastError)}.` : "";
  return `the agent's output ended without turn.completed or turn.failed (killed or crashed?).${reported}\n${lastLines(lines)}`;
}
