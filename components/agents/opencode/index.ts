/**
 * OpenCode (sst/opencode): its endpoints, its non-interactive invocation (`opencode run`), its environment
 * and the release the image pins. components/agents/opencode/image/install-cli.sh installs it. The sandbox
 * runs it on Anthropic's models, so it shares the Messages API and its credential proxy with Claude Code.
 *
 * Base URL and key: OpenCode's Anthropic provider (the AI SDK's) reads ANTHROPIC_BASE_URL and
 * ANTHROPIC_API_KEY from the environment; no opencode.json and no OPENCODE_CONFIG_CONTENT are needed.
 * Unlike Claude Code it takes the base URL with the `/v1` (it posts to `<base>/messages`); the key goes out
 * as `x-api-key`. A step limit (`agent.<name>.steps`) and tool permissions exist only in OpenCode's config,
 * not as flags of a run. Observed by running the CLI against testkit/live/fake-messages-api.ts
 * (tests/fixtures/opencode-stream/README.md).
 */
import type { AgentProfile, AgentRunRequest } from "../agent";
import { anthropic } from "../providers/anthropic";
import { parseOpencodeRun } from "./run-json";

/**
 * OpenCode's non-interactive invocation: with no message argument it reads the prompt from stdin, and
 * prints its events as JSON lines. `--session` continues a session, `--fork` with it branches a new one
 * off it. A new session gets `--title` without a value (the prompt, truncated) because otherwise OpenCode
 * spends a model request on a title. No `--auto`: OpenCode's defaults let its tools work in the project
 * without asking, and what they would ask for (files outside the project) a headless run then refuses.
 */
export function opencodeArguments(run: AgentRunRequest): string[] {
  // OpenCode wants `provider/model`; a bare name is taken from the API the sandbox runs it on.
  const model = run.model?.includes("/") ? run.model : run.model && `${anthropic.name}/${run.model}`;
  return [
    opencode.executable,
    "run",
    "--format",
    "json",
    ...(model ? ["--model", model] : []),
    ...(run.resumeSessionId ? ["--session", run.resumeSessionId, ...(run.forkSession ? ["--fork"] : [])] : ["--title"]),
  ];
}

export const opencode: AgentProfile = {
  name: "opencode",
  executable: "opencode",
  defaultVersion: "1.18.33",
  provider: anthropic,
  // OpenCode's own logins (OAuth plugins, OpenCode Zen) are not set up in the image: it signs in by key only.
  signInEndpoints: [],
  api: {
    baseUrlEnv: "ANTHROPIC_BASE_URL",
    // It posts to <base>/messages.
    baseUrlPath: "/v1",
    keyEnv: "ANTHROPIC_API_KEY",
    // OPENCODE_AUTH_CONTENT is a whole auth.json (provider keys and tokens) in a variable; OPENCODE_API_KEY is an OpenCode Zen key.
    credentialEnv: ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENCODE_API_KEY", "OPENCODE_AUTH_CONTENT"],
  },
  // The image pins the CLI, so no self-update; the model catalog stays the one built in (the live one is
  // at models.opencode.ai); no session sharing (opncd.ai) and no language servers downloaded at run time.
  envDefaults: {
    OPENCODE_DISABLE_AUTOUPDATE: "1",
    OPENCODE_DISABLE_MODELS_FETCH: "1",
    OPENCODE_DISABLE_SHARE: "1",
    OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
  },
  // Project config (providers, MCP servers, permissions) and .opencode/ (plugins and custom tools: code OpenCode runs).
  protectedPaths: ["opencode.json", "opencode.jsonc", ".opencode"],
  runOptions: ["model", "resume", "fork"],
  cliArguments: opencodeArguments,
  parseOutput: parseOpencodeRun,
};
