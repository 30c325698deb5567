/**
 * OpenCode (sst/opencode): its endpoints, its non-interactive invocation (`opencode run`), its environment
 * and the release the image pins. components/agents/opencode/image/install-cli.sh installs it. The sandbox
 * runs it on Anthropic's models, so it shares the Messages API and its credential proxy with Claude Code.
 *
 * Base URL and key: OpenCode's Anthropic provider (the AI SDK's) reads ANTHROPIC_BASE_URL and
 * ANTHROPIC_API_KEY from the environment; no opencode.json and no OPENCODE_CONFIG_CONTENT are needed. Unlike
 * Claude Code it takes the base URL with the `/v1` (it posts to `<base>/messages`), so with the proxy's root
 * as the base URL the upstream carries the `/v1`. The key goes out as `x-api-key`. Observed by running the
 * CLI against testkit/live/fake-messages-api.ts (tests/fixtures/opencode-stream/README.md).
 */
import type { AgentProfile, AgentRunRequest } from "../agent";
import { claude } from "../claude";
import { parseOpencodeRun } from "./run-json";

/**
 * The run options `opencode run` maps. A step limit (`agent.<name>.steps`) and tool permissions exist only
 * in OpenCode's config (or OPENCODE_PERMISSION), not as flags of a run.
 */
export const opencodeSupportedRunOptions = ["model", "resume", "fork"] as const;

/** The provider a bare model name (`claude-sonnet-4-5`) is taken from; OpenCode wants `provider/model`. */
export const OPENCODE_DEFAULT_PROVIDER = "anthropic";

/**
 * OpenCode's non-interactive invocation: with no message argument it reads the prompt from stdin, and
 * prints its events as JSON lines. `--session` continues a session, `--fork` with it branches a new one
 * off it. A new session gets `--title` without a value (the prompt, truncated) because otherwise OpenCode
 * spends a model request on a title. No `--auto`: OpenCode's defaults let its tools work in the project
 * without asking, and what they would ask for (files outside the project) a headless run then refuses.
 */
export function opencodeArguments(run: AgentRunRequest): string[] {
  const model = run.model?.includes("/") ? run.model : run.model && `${OPENCODE_DEFAULT_PROVIDER}/${run.model}`;
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
  versionBuildArg: "AGENT_VERSION",
  // The Messages API's endpoints, variables and error shape are Claude Code's: the claude module names them once.
  apiEndpoint: claude.apiEndpoint,
  // OpenCode's own logins (OAuth plugins, OpenCode Zen) are not set up in the image: it signs in by key only.
  signInEndpoints: [],
  apiProbeUrl: claude.apiProbeUrl,
  api: {
    defaultUpstream: `${claude.api.defaultUpstream}/v1`,
    baseUrlEnv: claude.api.baseUrlEnv,
    keyEnv: claude.api.keyEnv,
    // OPENCODE_AUTH_CONTENT is a whole auth.json (provider keys and tokens) in a variable; OPENCODE_API_KEY is an OpenCode Zen key.
    credentialEnv: ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENCODE_API_KEY", "OPENCODE_AUTH_CONTENT"],
    keyHeader: claude.api.keyHeader,
    errorBody: claude.api.errorBody,
  },
  // The image pins the CLI, so no self-update; the model catalog stays the one built in (the live one is
  // at models.opencode.ai); no session sharing (opncd.ai) and no language servers downloaded at run time.
  envDefaults: {
    OPENCODE_DISABLE_AUTOUPDATE: "1",
    OPENCODE_DISABLE_MODELS_FETCH: "1",
    OPENCODE_DISABLE_SHARE: "1",
    OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
  },
  cliArguments: opencodeArguments,
  parseOutput: parseOpencodeRun,
};
