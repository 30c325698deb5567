import http from "node:http";
import https from "node:https";
import { listenOn } from "./listen";
import { type ResponsesTurn, sendOpenAiError, streamResponse } from "./responses-wire";
import { headerValue, keyElsewhere, parseJson, type StandIn, type StandInOptions, type StandInRequest, scriptCursor } from "./stand-in";

/**
 * A local stand-in for the OpenAI Responses API, enough for a `codex exec` run: the agent talks to it
 * through OPENAI_BASE_URL, so tests exercise the real CLI without a real key or any outside traffic. Shapes
 * follow the public API (SSE event names, error JSON); what the CLI sends was observed by running
 * @openai/codex 0.171.0 against it (see tests/fixtures/codex-stream/README.md).
 */

export type { ResponsesTurn };

/** `authorization` carries the key (`Bearer <key>`), so tests can prove it reached the API. */
export type RecordedResponsesRequest = StandInRequest;

export type FakeResponsesApiOptions = StandInOptions<ResponsesTurn>;
/** `url` is the base URL including `/v1`, as OPENAI_BASE_URL takes it. */
export type FakeResponsesApi = StandIn<RecordedResponsesRequest>;

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
    problems.push(...keyElsewhere(request, apiKey, "authorization", where));
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
