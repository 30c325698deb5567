/**
 * What the stand-in APIs (fake-messages-api.ts, fake-responses-api.ts) share: how one is started, what it
 * records of each request, and what a test gets back. Each API's own file adds its wire format and how its
 * key travels.
 */
import type http from "node:http";

export interface StandInOptions<Turn> {
  /** Address to bind: 127.0.0.1 for host runs, the bridge gateway or 0.0.0.0 for sandboxes. Default 127.0.0.1. */
  readonly host?: string;
  /** Port to bind; 0 (the default) picks a free one. */
  readonly port?: number;
  /** The model's answers, one per main-loop request of the CLI, in order. */
  readonly script: readonly Turn[];
  /**
   * Serve over https with this key pair (testkit/live/test-ca.ts's testTls()), as the real API is reached
   * by the credential proxy; plain http (the default) for host-side runs that point the CLI at it directly.
   */
  readonly tls?: { readonly key: string; readonly cert: string };
}

export interface StandInRequest {
  readonly method: string;
  /** Path including the query string, e.g. `/v1/messages?beta=true`. */
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The `authorization` header as received. */
  readonly authorization: string | undefined;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  readonly body: unknown;
  /** Index in the script of the turn that answered; undefined for side calls, other paths and an exhausted script. */
  readonly scriptIndex: number | undefined;
}

export interface StandIn<Request extends StandInRequest> {
  /** Base URL as the CLI's base-URL variable takes it, using the bound host (0.0.0.0 is reported as 127.0.0.1); https:// with `tls`. */
  readonly url: string;
  readonly port: number;
  /** Every request received, in arrival order; the array fills up while the server runs. */
  readonly requests: Request[];
  /** What credentialProblems finds in the requests so far: empty when the key arrived only where it belongs. */
  credentialProblems(apiKey: string): string[];
  close(): Promise<void>;
}

/**
 * The key's problems in one request outside the header meant to carry it: any other header, the path or the
 * body holding it. Messages name the header, never the key.
 */
export function keyElsewhere(request: StandInRequest, apiKey: string, keyHeader: string, where: string): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(request.headers)) {
    if (name === keyHeader) continue;
    if (headerValue(value)?.includes(apiKey)) problems.push(`${where}: header ${name} contains the key`);
  }
  if (request.path.includes(apiKey)) problems.push(`${where}: the path contains the key`);
  if ((typeof request.body === "string" ? request.body : JSON.stringify(request.body)).includes(apiKey)) problems.push(`${where}: the body contains the key`);
  return problems;
}

/** Returns the index of the turn that answers the next main-loop request, undefined once the script ran out; an error turn answers `times` requests. */
export function scriptCursor(script: readonly { readonly kind: string; readonly times?: number }[]): () => number | undefined {
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

/** The body as JSON, or the raw text when it is not JSON. */
export function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}
