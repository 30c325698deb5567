/**
 * What the program needs to know about one model API that agents call: where it is, which stack secret holds
 * its key, and how a request carries that key. Several agents may call one API (OpenCode calls Anthropic's as
 * Claude Code does), so an API is described once, in providers/, and each agent profile names its own.
 */

export interface ApiProvider {
  /** The API's name in messages and in the credential proxy's key files. */
  readonly name: string;
  /** The stack secret (component argument and `pulumi config set --secret` key) that holds its key. */
  readonly secretKey: string;
  /** Where the credential proxy forwards to unless the sandbox's `apiUpstream` says otherwise. */
  readonly defaultUpstream: string;
  /** The API as an allowlist entry: reached by CONNECT only with `auth: subscription` (else the credential proxy stands in). */
  readonly endpoint: string;
  /** URL the sandbox's healthcheck probes through the egress proxy to prove the API is reachable (any HTTP answer counts). */
  readonly probeUrl: string;
  /** Request header that carries the key: the credential proxy drops the client's and sets its own. */
  readonly keyHeader: string;
  /** What comes before the key in that header's value (`Bearer ` for OpenAI's Authorization header). */
  readonly keyValuePrefix: string;
  /** Formats of this API's keys, so a key pasted into plain config or an environment is recognised. */
  readonly keyFormats: readonly RegExp[];
  /** `text` with every key of this API in it masked (its prefix kept): error messages may quote a key. */
  maskKeys(text: string): string;
  /** An answer in the API's own error shape (JSON), which the CLI prints: the credential proxy's reply when the stack has no key. */
  errorBody(message: string): string;
}
