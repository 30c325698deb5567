/**
 * Reads `opencode run --format json` stdout: one JSON event per line, each with the session's `sessionID`
 * and a `timestamp` (ms). Every model request is a step: `step_start`, then its parts (`text`, `tool_use`
 * with the tool's input, output and exit code), then `step_finish` with the finish reason, tokens and cost
 * in USD. A failure is one `error` event ({ name, data: { message, statusCode? } }) and exit code 1; the
 * run prints no closing event of its own. Shapes come from real runs recorded in
 * tests/fixtures/opencode-stream/; unknown events and fields pass through.
 */
import { z } from "zod";
import { anthropic } from "../providers/anthropic";
import type { AgentRunSummary } from "../run-summary";
import { clip, jsonLines, lastLines } from "../stream-lines";

export const stepFinishSchema = z.looseObject({
  type: z.literal("step_finish"),
  part: z.looseObject({ reason: z.string().optional(), cost: z.number().nonnegative().optional() }),
});

export const textSchema = z.looseObject({
  type: z.literal("text"),
  part: z.looseObject({ text: z.string(), messageID: z.string().optional() }),
});

export const toolUseSchema = z.looseObject({
  type: z.literal("tool_use"),
  part: z.looseObject({ tool: z.string(), state: z.looseObject({ status: z.string(), error: z.string().optional() }) }),
});

export const errorSchema = z.looseObject({
  type: z.literal("error"),
  error: z.looseObject({
    name: z.string().optional(),
    data: z.looseObject({ message: z.string().optional(), statusCode: z.number().optional() }).optional(),
  }),
});

/** The finish reason of a step that ended the run with an answer; `tool-calls` means another step follows. */
const FINISHED = "stop";

/** Summarises a whole stdout; never throws, so a broken run still yields a readable failure. */
export function parseOpencodeRun(stdout: string): AgentRunSummary {
  const { lines, objects: events } = jsonLines(stdout);
  const steps = events.map((event) => stepFinishSchema.safeParse(event)).flatMap((parsed) => (parsed.success ? [parsed.data.part] : []));
  const costs = steps.flatMap((step) => (step.cost === undefined ? [] : [step.cost]));
  const common = {
    resultText: lastMessageText(events),
    turns: events.filter((event) => event.type === "step_start").length,
    durationMs: duration(events),
    costUsd: costs.length > 0 ? costs.reduce((sum, cost) => sum + cost, 0) : undefined,
    sessionId: events.map((event) => event.sessionID).find((id) => typeof id === "string"),
  };

  const failure = events.map((event) => errorSchema.safeParse(event)).findLast((parsed) => parsed.success)?.data.error;
  if (failure !== undefined) {
    const message = failure.data?.message?.trim() || failure.name || "the agent reported an error without a message";
    const status = failure.data?.statusCode === undefined ? "" : ` (HTTP ${failure.data.statusCode})`;
    return { success: false, ...common, error: anthropic.maskKeys(`${message}${status}`) };
  }
  const lastReason = steps.at(-1)?.reason;
  if (lastReason === FINISHED) return { success: true, ...common };
  if (lastReason !== undefined && lastReason !== "tool-calls") {
    return { success: false, ...common, error: `the agent's last step ended with reason ${lastReason}, not with an answer` };
  }
  return { success: false, ...common, error: anthropic.maskKeys(unfinishedMessage(events, lines)) };
}

/** The text parts of the last message that had any, joined: the agent's final answer. */
function lastMessageText(events: readonly Record<string, unknown>[]): string {
  const texts = events.flatMap((event) => {
    const parsed = textSchema.safeParse(event);
    return parsed.success ? [parsed.data.part] : [];
  });
  const lastMessage = texts.at(-1)?.messageID;
  if (lastMessage === undefined) return texts.at(-1)?.text ?? "";
  return texts
    .filter((part) => part.messageID === lastMessage)
    .map((part) => part.text)
    .join("");
}

/** From the first event to the last: the agent's own working time, without the CLI's start-up. */
function duration(events: readonly Record<string, unknown>[]): number {
  const times = events.flatMap((event) => (typeof event.timestamp === "number" ? [event.timestamp] : []));
  return times.length < 2 ? 0 : Math.max(0, Math.max(...times) - Math.min(...times));
}

/**
 * A run ends after a tool call without an answer when a tool was refused (a headless run rejects what
 * would need a person's approval) and otherwise when it was killed or crashed: say which.
 */
function unfinishedMessage(events: readonly Record<string, unknown>[], lines: readonly string[]): string {
  if (lines.length === 0) return "the agent printed nothing on stdout (no step_finish or error line)";
  const lastTool = events.map((event) => toolUseSchema.safeParse(event)).findLast((parsed) => parsed.success)?.data.part;
  if (lastTool?.state.status === "error" && lastTool.state.error) {
    return `the agent stopped after its ${lastTool.tool} tool failed: ${clip(lastTool.state.error)}`;
  }
  return `the agent's output ended before a finished step (killed or crashed?).\n${lastLines(lines)}`;
}
