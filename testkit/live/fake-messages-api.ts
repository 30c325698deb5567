import http from "node:http";
import https from "node:https";
import { listenOn } from "./listen";
import { answerMessages, type ScriptedTurn, sendError, sendJson, USAGE } from "./messages-wire";
import { headerValue, keyElsewhere, parseJson, type StandIn, type StandInOptions, type StandInRequest, scriptCursor } from "./stand-in";

/**
 * A local stand-in for the Anthropic Messages API, enough for a Claude Code `-p` run: the agent talks to it
 * through ANTHROPIC_BASE_URL, so live tests exercise the real CLI without a real key or any outside traffic.
 * Shapes follow the public API (SSE event names, error JSON); what the CLI sends was observed by running
 * @anthropic-ai/claude-code 2.1.330 against it (see tests/fixtures/claude-stream/README.md).
 */

export type { ScriptedTurn };

export interface RecordedRequest extends StandInRequest {
  /** The `x-api-key` header as received, so tests can prove the key reached the API. */
  readonly apiKey: string | undefined;
}

export type FakeMessagesApiOptions = StandInOptions<ScriptedTurn>;
/** `url` is the base URL for ANTHROPIC_BASE_URL. */
export type FakeMessagesApi = StandIn<RecordedRequest>;

/**
 * What is wrong with how the requests carried the API key `apiKey`: each /v1/messages request whose
 * `x-api-key` is not exactly it, and each other header, path or body that contains it (a proxy that adds
 * the key must add it where the API reads it, and nowhere else). Messages name the header, never the key.
 */
export function credentialProblems(requests: readonly RecordedRequest[], apiKey: string): string[] {
  if (apiKey.length === 0) throw new Error("credentialProblems needs the expected key");
  const problems: string[] = [];
  requests.forEach((request, index) => {
    const where = `request #${index + 1} (${request.method} ${request.path.replaceAll(apiKey, "<key>")})`;
    const isMessages = request.path.split("?")[0] === "/v1/messages";
    if (isMessages && request.apiKey !== apiKey) {
      problems.push(`${where}: x-api-key is ${request.apiKey === undefined ? "missing" : "not the configured key"}`);
    }
    problems.push(...keyElsewhere(request, apiKey, "x-api-key", where));
  });
  return problems;
}

export async function startFakeMessagesApi(options: FakeMessagesApiOptions): Promise<FakeMessagesApi> {
  const requests: RecordedRequest[] = [];
  const nextTurn = scriptCursor(options.script);

  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const body = parseJson(raw);
      const path = req.url ?? "/";
      const pathname = path.split("?")[0];
      const consumesTurn = req.method === "POST" && pathname === "/v1/messages" && !isSideCall(body);
      const scriptIndex = consumesTurn ? nextTurn() : undefined;
      requests.push({
        method: req.method ?? "",
        path,
        headers: req.headers,
        apiKey: headerValue(req.headers["x-api-key"]),
        authorization: headerValue(req.headers.authorization),
        body,
        scriptIndex,
      });
      const requestId = `req_fake_${requests.length}`;
      res.setHeader("request-id", requestId);

      if (pathname === "/api/hello") {
        // The CLI preconnects with `HEAD /api/hello` unless non-essential traffic is disabled.
        res.writeHead(200).end();
      } else if (req.method === "POST" && pathname === "/v1/messages/count_tokens") {
        sendJson(res, 200, { input_tokens: USAGE.input_tokens });
      } else if (req.method === "POST" && pathname === "/v1/messages") {
        const turn = !consumesTurn
          ? sideCallAnswer
          : scriptIndex === undefined
            ? exhausted(options.script.length, requests.length)
            : options.script[scriptIndex];
        answerMessages(res, body, turn, requests.length, requestId);
      } else {
        sendError(res, 404, "not_found_error", `fake-messages-api does not implement ${req.method} ${pathname}`, requestId);
      }
    });
  };
  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler) : http.createServer(handler);

  const host = options.host ?? "127.0.0.1";
  const { port, urlHost } = await listenOn(server, host, options.port);
  return {
    url: `${options.tls ? "https" : "http"}://${urlHost}:${port}`,
    port,
    requests,
    credentialProblems: (apiKey) => credentialProblems(requests, apiKey),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * Requests outside the agent loop (titles, quota probes) must not eat scripted turns. They carry no tools
 * and ask for few output tokens; the main loop always sends its tool list and a large max_tokens.
 */
function isSideCall(body: unknown): boolean {
  if (typeof body !== "object" || body === null) return false;
  const { tools, max_tokens: maxTokens } = body as { tools?: unknown; max_tokens?: unknown };
  const hasTools = Array.isArray(tools) && tools.length > 0;
  return !hasTools && typeof maxTokens === "number" && maxTokens <= 1024;
}

const sideCallAnswer: ScriptedTurn = { kind: "text", text: "ok" };

/** Running out of script is a test bug: answer with a non-retryable error that names it. */
function exhausted(scriptLength: number, requestNumber: number): ScriptedTurn {
  return {
    kind: "error",
    status: 400,
    errorType: "invalid_request_error",
    message: `fake-messages-api: script exhausted (${scriptLength} turns) at request #${requestNumber}; add turns to the script`,
  };
}
