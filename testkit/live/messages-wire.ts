/**
 * What the Messages API stand-in (fake-messages-api.ts) answers, on the wire: a scripted turn as a message,
 * streamed as Server-Sent Events or as one JSON body, and errors in the API's error shape.
 */
import type http from "node:http";

/** One scripted answer of the model; each main-loop request of the CLI consumes the next one. */
export type ScriptedTurn =
  /** A final text answer (stop_reason end_turn). */
  | { readonly kind: "text"; readonly text: string }
  /** A tool call (stop_reason tool_use); the CLI runs the tool and sends its tool_result in the next request. */
  | {
      readonly kind: "tool_use";
      readonly name: string;
      readonly input: Record<string, unknown>;
      /** Optional text the model "says" before calling the tool. */
      readonly text?: string;
    }
  /**
   * An HTTP error in the API's error shape, e.g. 401 authentication_error or 529 overloaded_error, answered
   * `times` requests in a row (default 1). The CLI retries most errors (401 included) with backoff, so a
   * persistent failure needs `times: Infinity` and CLAUDE_CODE_MAX_RETRIES=0 to end quickly.
   */
  | {
      readonly kind: "error";
      readonly status: number;
      readonly errorType: string;
      readonly message: string;
      readonly times?: number;
    };

interface ContentBlock {
  readonly type: "text" | "tool_use";
  readonly [field: string]: unknown;
}

interface ModelMessage {
  readonly id: string;
  readonly content: readonly ContentBlock[];
  readonly stopReason: "end_turn" | "tool_use";
}

// Fixed usage numbers keep the CLI's cost figures (and so the recorded fixtures) deterministic.
export const USAGE = { input_tokens: 100, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
const OUTPUT_TOKENS = 20;

/** Answers a /v1/messages request with `turn`: streamed when the request asks for a stream, as the CLI does. */
export function answerMessages(res: http.ServerResponse, body: unknown, turn: ScriptedTurn, requestNumber: number, requestId: string): void {
  if (turn.kind === "error") {
    sendError(res, turn.status, turn.errorType, turn.message, requestId);
    return;
  }
  const request = (typeof body === "object" && body !== null ? body : {}) as { model?: unknown; stream?: unknown };
  const model = typeof request.model === "string" ? request.model : "claude-fake";
  const message = modelMessage(turn, requestNumber);
  if (request.stream === true) {
    streamMessage(res, message, model);
  } else {
    sendJson(res, 200, {
      id: message.id,
      type: "message",
      role: "assistant",
      model,
      content: message.content,
      stop_reason: message.stopReason,
      stop_sequence: null,
      usage: { ...USAGE, output_tokens: OUTPUT_TOKENS },
    });
  }
}

function modelMessage(turn: Exclude<ScriptedTurn, { kind: "error" }>, requestNumber: number): ModelMessage {
  const id = `msg_fake_${requestNumber}`;
  if (turn.kind === "text") {
    return { id, content: [{ type: "text", text: turn.text }], stopReason: "end_turn" };
  }
  const toolUse: ContentBlock = { type: "tool_use", id: `toolu_fake_${requestNumber}`, name: turn.name, input: turn.input };
  const content = turn.text === undefined ? [toolUse] : [{ type: "text" as const, text: turn.text }, toolUse];
  return { id, content, stopReason: "tool_use" };
}

/** Server-Sent Events in the order the API sends them; text and tool input arrive in two deltas each. */
function streamMessage(res: http.ServerResponse, message: ModelMessage, model: string): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const send = (type: string, data: Record<string, unknown>) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);

  send("message_start", {
    message: {
      id: message.id,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...USAGE, output_tokens: 1 },
    },
  });
  message.content.forEach((block, index) => {
    const isText = block.type === "text";
    send("content_block_start", { index, content_block: isText ? { type: "text", text: "" } : { ...block, input: {} } });
    // The API sends keep-alive pings once the first block has started; clients must ignore them.
    if (index === 0) send("ping", {});
    for (const part of halves(isText ? String(block.text) : JSON.stringify(block.input))) {
      const delta = isText ? { type: "text_delta", text: part } : { type: "input_json_delta", partial_json: part };
      send("content_block_delta", { index, delta });
    }
    send("content_block_stop", { index });
  });
  send("message_delta", {
    delta: { stop_reason: message.stopReason, stop_sequence: null },
    usage: { output_tokens: OUTPUT_TOKENS },
  });
  send("message_stop", {});
  res.end();
}

/** Splits a string in two so clients must concatenate deltas, as they must with the real API. */
function halves(text: string): string[] {
  const middle = Math.ceil(text.length / 2);
  return [text.slice(0, middle), text.slice(middle)].filter((part) => part.length > 0);
}

export function sendError(res: http.ServerResponse, status: number, errorType: string, message: string, requestId: string): void {
  sendJson(res, status, { type: "error", error: { type: errorType, message }, request_id: requestId });
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
}
