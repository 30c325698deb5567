import http from "node:http";
import https from "node:https";
import { listenOn } from "./listen";
import { type ResponsesTurn, sendOpenAiError, streamResponse } from "./responses-wire";

/**
 * A local stand-in for the OpenAI Responses API, enough for a `codex exec` run: the agent talks to it
 * through OPENAI_BASE_URL, so tests exercise the real CLI without a real key or any outside traffic. Shapes
 * follow the public API (SSE event names, error JSON); what the CLI sends was observed by running
 * @openai/codex 0.171.0 against it (see tests/fixtures/codex-stream/README.md).
 */

export type { ResponsesTurn };

export interface RecordedResponsesRequest {
  readonly method: string;
  /** Path including the query string, e.g. `/v1/responses`. */
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The `authorization` header as received (`Bearer <key>`), so tests can prove the key reached the API. */
  readonly authorization: string | undefined;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  readonly body: unknown;
  /** Index in the script of the turn that answered; undefined for other paths and an exhausted script. */
  readonly scriptIndex: number | undefined;
}

export interface FakeResponsesApiOptions {
  /** Address to bind: 127.0.0.1 for host runs, the bridge gateway or 0.0.0.0 for sandboxes. Default 127.0.0.1. */
  readonly host?: string;
  /** Port to bind; 0 (the default) picks a free one. */
  readonly port?: number;
  readonly script: readonly ResponsesTurn[];
  /** Serve over https with this key pair (testkit/live/test-ca.ts's testTls()), as the credential proxy reaches the real API. */
  readonly tls?: { readonly key: string; readonly cert: string };
}

export interface FakeResponsesApi {
  /** Base URL including `/v1`, as OPENAI_BASE_URL takes it (0.0.0.0 is reported as 127.0.0.1); https:// with `tls`. */
  readonly url: string;
  readonly port: number;
  /** Every request received, in arrival order; the array fills up while the server runs. */
  readonly requests: RecordedResponsesRequest[];
  /** What credentialProblems finds in the requests so far: empty when the key arrived only where it belongs. */
  credentialProblems(apiKey: string): string[];
  close(): Promise<void>;
}

const RESPONSES_PATH = "/v1/responses";

/**
 * What is wrong with how the requests carried the API key `apiKey`: each /v1/responses request whose
 * `authorization` is not exactly `Bearer <key>`, and each other header, path or body that contains it.
 * Messages name the header, never the key.
 */
export function responsesCredentialProblems(requests: readonly RecordedResponsesRequest[], apiKey: string): string[] {
  if (apiKey.length === 0) throw new Error("responsesCredentialProblems needs the expected key");
  const problems: string[] = [];
  requests.forEach((request, index) => {
    const where = `request #${index + 1} (${request.method} ${request.path.replaceAll(apiKey, "<key>")})`;
    if (request.path.split("?")[0] === RESPONSES_PATH && request.authorization !== `Bearer ${apiKey}`) {
      problems.push(`${where}: authorization is ${request.authorization === undefined ? "missing" : "not Bearer and the configured key"}`);
    }
    for (const [name, value] of Object.entries(request.headers)) {
      if (name === "authorization") continue;
      if (headerValue(value)?.includes(apiKey)) problems.push(`${where}: header ${name} contains the key`);
    }
    if (request.path.includes(apiKey)) problems.push(`${where}: the path contains the key`);
    if ((typeof request.body === "string" ? request.body : JSON.stringify(request.body)).includes(apiKey)) problems.push(`${where}: the body contains the key`);
  });
  return problems;
}

export async function startFakeResponsesApi(options: FakeResponsesApiOptions): Promise<FakeResponsesApi> {
  const requests: RecordedResponsesRequest[] = [];
  const nextTurn = scriptCursor(options.script);

  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = parseJson(Buffer.concat(chunks).toString("utf8"));
      const path = req.url ?? "/";
      const pathname = path.split("?")[0];
      const isResponses = req.method === "POST" && pathname === RESPONSES_PATH;
      const scriptIndex = isResponses ? nextTurn() : undefined;
      requests.push({ method: req.method ?? "", path, headers: req.headers, authorization: headerValue(req.headers.authorization), body, scriptIndex });
      res.setHeader("x-request-id", `req_fake_${requests.length}`);

      if (!isResponses) {
        sendOpenAiError(res, 404, "invalid_request_error", "unknown_url", `fake-responses-api does not implement ${req.method} ${pathname}`);
        return;
      }
      const turn = scriptIndex === undefined ? exhausted(options.script.length, requests.length) : options.script[scriptIndex];
      if (turn.kind === "error") sendOpenAiError(res, turn.status, turn.errorType, turn.code, turn.message);
      else streamResponse(res, body, turn, requests.length);
    });
  };
  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler) : http.createServer(handler);

  const { port, urlHost } = await listenOn(server, options.host ?? "127.0.0.1", options.port);
  return {
    url: `${options.tls ? "https" : "http"}://${urlHost}:${port}/v1`,
    port,
    requests,
    credentialProblems: (apiKey) => responsesCredentialProblems(requests, apiKey),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Returns the index of the turn that answers the next request, undefined once the script ran out. */
function scriptCursor(script: readonly ResponsesTurn[]): () => number | undefined {
  let index = 0;
  let answered = 0;
  return () => {
    const turn = script[index];
    if (turn === undefined) return undefined;
    const current = index;
    answered += 1;
    if (answered >= (turn.kind === "error" ? (turn.times ?? 1) : 1)) {
      index += 1;
      answered = 0;
    }
    return current;
  };
}

/** Running out of script is a test bug: answer with a non-retryable error that names it. */
function exhausted(scriptLength: number, requestNumber: number): ResponsesTurn {
  return {
    kind: "error",
    status: 400,
    errorType: "invalid_request_error",
    code: "script_exhausted",
    message: `fake-responses-api: script exhausted (${scriptLength} turns) at request #${requestNumber}; add turns to the script`,
  };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}
