/**
 * What the Responses API stand-in (fake-responses-api.ts) answers, on the wire: a scripted turn as one
 * streamed response (Server-Sent Events) and errors in OpenAI's error shape.
 */
import type http from "node:http";

/** One scripted answer of the model; each main-loop request of the CLI consumes the next one. */
export type ResponsesTurn =
  /** A final assistant message. */
  | { readonly kind: "message"; readonly text: string }
  /**
   * A function call the CLI runs and answers with a function_call_output in its next request; Codex's
   * shell tool is `exec_command` with `{ cmd }`.
   */
  | { readonly kind: "function_call"; readonly name: string; readonly arguments: Record<string, unknown> }
  /**
   * An HTTP error in OpenAI's error shape (401 invalid_api_key, 429 rate_limit_exceeded…), answered `times`
   * requests in a row (default 1): the CLI retries some statuses, so a persistent failure needs `times: Infinity`.
   */
  | {
      readonly kind: "error";
      readonly status: number;
      readonly errorType: string;
      readonly code: string | null;
      readonly message: string;
      readonly times?: number;
    };

// Fixed usage numbers keep the CLI's token counts (and so the recorded fixtures) deterministic.
export const RESPONSES_USAGE = {
  input_tokens: 100,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 20,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 120,
};

/**
 * Streams `turn` as one response: response.created, the output item added, its text in two deltas for a
 * message, the item done, then response.completed with the usage. Clients must build the item from the
 * deltas or take it whole from output_item.done, as they must with the real API.
 */
export function streamResponse(res: http.ServerResponse, body: unknown, turn: Exclude<ResponsesTurn, { kind: "error" }>, requestNumber: number): void {
  const model =
    typeof body === "object" && body !== null && typeof (body as { model?: unknown }).model === "string" ? (body as { model: string }).model : "gpt-fake";
  const responseId = `resp_fake_${requestNumber}`;
  const item = outputItem(turn, requestNumber);
  let sequence = 0;
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const send = (type: string, data: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`);
  const response = (status: string, output: unknown[], usage: unknown) => ({
    id: responseId,
    object: "response",
    created_at: 1_700_000_000,
    status,
    model,
    output,
    usage,
  });

  send("response.created", { response: response("in_progress", [], null) });
  send("response.output_item.added", { output_index: 0, item: { ...item, status: "in_progress", ...emptied(item) } });
  if (turn.kind === "message") {
    for (const delta of halves(turn.text)) send("response.output_text.delta", { item_id: item.id, output_index: 0, content_index: 0, delta });
    send("response.output_text.done", { item_id: item.id, output_index: 0, content_index: 0, text: turn.text });
  } else {
    for (const delta of halves(String(item.arguments))) send("response.function_call_arguments.delta", { item_id: item.id, output_index: 0, delta });
    send("response.function_call_arguments.done", { item_id: item.id, output_index: 0, arguments: item.arguments });
  }
  send("response.output_item.done", { output_index: 0, item });
  send("response.completed", { response: response("completed", [item], RESPONSES_USAGE) });
  res.end();
}

function outputItem(turn: Exclude<ResponsesTurn, { kind: "error" }>, requestNumber: number): Record<string, unknown> {
  if (turn.kind === "message") {
    return {
      type: "message",
      id: `msg_fake_${requestNumber}`,
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: turn.text, annotations: [] }],
    };
  }
  return {
    type: "function_call",
    id: `fc_fake_${requestNumber}`,
    call_id: `call_fake_${requestNumber}`,
    name: turn.name,
    arguments: JSON.stringify(turn.arguments),
    status: "completed",
  };
}

/** The item as output_item.added shows it, before any delta arrived. */
function emptied(item: Record<string, unknown>): Record<string, unknown> {
  return item.type === "message" ? { content: [] } : { arguments: "" };
}

/** Splits a string in two so clients must concatenate deltas. */
function halves(text: string): string[] {
  const middle = Math.ceil(text.length / 2);
  return [text.slice(0, middle), text.slice(middle)].filter((part) => part.length > 0);
}

/** OpenAI's error body: `{ error: { message, type, param, code } }`. */
export function openAiErrorBody(errorType: string, code: string | null, message: string): string {
  return JSON.stringify({ error: { message, type: errorType, param: null, code } });
}

export function sendOpenAiError(res: http.ServerResponse, status: number, errorType: string, code: string | null, message: string): void {
  res.writeHead(status, { "content-type": "application/json" }).end(openAiErrorBody(errorType, code, message));
}
