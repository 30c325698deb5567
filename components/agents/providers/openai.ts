/** OpenAI's API (the Responses API Codex calls), reached with a bearer key. */
import type { ApiProvider } from "../api-provider";

export const openai = {
  name: "openai",
  secretKey: "openaiApiKey",
  defaultUpstream: "https://api.openai.com",
  endpoint: "api.openai.com:443",
  probeUrl: "https://api.openai.com/",
  keyHeader: "Authorization",
  keyValuePrefix: "Bearer ",
  // Project, service-account and admin keys, and the older user keys (sk- then 48 characters).
  keyFormats: [/^sk-(proj|svcacct|admin)-/, /^sk-[A-Za-z0-9]{48}$/],
  maskKeys: (text: string) => text.replace(/\b(sk-(?:proj-|svcacct-|admin-)?)[A-Za-z0-9_-]{8,}/g, "$1***"),
  errorBody: (message: string) => JSON.stringify({ error: { message, type: "invalid_request_error", code: "invalid_api_key", param: null } }),
} as const satisfies ApiProvider;
