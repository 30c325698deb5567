/**
 * Claude Code: its endpoints, its non-interactive CLI, its environment defaults and the release the image
 * pins. The image side (docker/agent) installs the CLI named here; under `auth: proxy` the CLI talks to the
 * credential proxy through ANTHROPIC_BASE_URL with a placeholder key, and the proxy adds the real one.
 */
import type { AgentProfile, AgentRunRequest } from "../agent";
import { anthropic } from "../providers/anthropic";
import { parseAgentStream } from "./stream-json";

/** The turn limit of a Claude Code run that sets none: a bound on what one run can spend. */
const CLAUDE_DEFAULT_MAX_TURNS = 20;

/** Claude Code's non-interactive invocation: the prompt comes from stdin, the answer as stream-json. */
export function claudeArguments(run: AgentRunRequest): string[] {
  return [
    claude.executable,
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--max-turns",
    String(run.maxTurns ?? CLAUDE_DEFAULT_MAX_TURNS),
    "--permission-mode",
    "acceptEdits",
    ...(run.model ? ["--model", run.model] : []),
    ...(run.resumeSessionId ? ["--resume", run.resumeSessionId, ...(run.forkSession ? ["--fork-session"] : [])] : []),
    ...(run.allowedTools.length > 0 ? ["--allowedTools", ...run.allowedTools] : []),
  ];
}

export const claude: AgentProfile = {
  name: "claude",
  executable: "claude",
  defaultVersion: "2.1.330",
  provider: anthropic,
  signInEndpoints: ["claude.ai:443", "console.anthropic.com:443", "platform.claude.com:443"],
  api: {
    baseUrlEnv: "ANTHROPIC_BASE_URL",
    // Claude Code adds /v1 to the base URL itself.
    baseUrlPath: "",
    keyEnv: "ANTHROPIC_API_KEY",
    credentialEnv: ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"],
  },
  // The image pins the CLI version, so no self-update; and no non-essential traffic (telemetry,
  // preconnects), so the agent talks only to its API.
  envDefaults: { DISABLE_AUTOUPDATER: "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1" },
  // Hooks in the settings run commands; .mcp.json starts MCP servers: both on the developer's machine too.
  protectedPaths: [".claude/settings.json", ".claude/settings.local.json", ".mcp.json"],
  runOptions: ["maxTurns", "allowedTools", "model", "resume", "fork"],
  cliArguments: claudeArguments,
  parseOutput: parseAgentStream,
};
