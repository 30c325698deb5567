/** Anthropic's Messages API, which Claude Code and OpenCode's Anthropic provider call. */
import type { ApiProvider } from "../api-provider";

export const anthropic = {
  name: "anthropic",
  secretKey: "anthropicApiKey",
  defaultUpstream: "https://api.anthropic.com",
  endpoint: "api.anthropic.com:443",
  probeUrl: "https://api.anthropic.com/",
  keyHeader: "x-api-key",
  keyValuePrefix: "",
  keyFormats: [/^sk-ant-/],
  maskKeys: (text: string) => text.replace(/sk-ant-[A-Za-z0-9_-]+/g, "sk-ant-***"),
  errorBody: (message: string) => JSON.stringify({ type: "error", error: { type: "authentication_error", message } }),
} as const satisfies ApiProvider;
