/**
 * Claude Code: its endpoints, its non-interactive CLI, its environment defaults and the release the image
 * pins. The image side (docker/agent) installs the CLI named here and agent-exec hands it the API key as
 * ANTHROPIC_API_KEY from the credentials volume.
 */
import type { AgentProfile, AgentRunRequest } from "../agent";
import { parseAgentStream } from "./stream-json";

/** Claude Code's non-interactive invocation: the prompt comes from stdin, the answer as stream-json. */
export function claudeArguments(run: AgentRunRequest): string[] {
  return [
    claude.executable,
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--max-turns",
    String(run.maxTurns),
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
  versionBuildArg: "CLAUDE_CODE_VERSION",
  // The API, and sign-in/token refresh for subscription logins.
  endpoints: ["api.anthropic.com:443", "claude.ai:443", "console.anthropic.com:443", "platform.claude.com:443"],
  apiProbeUrl: "https://api.anthropic.com/",
  // The image pins the CLI version, so no self-update; and no non-essential traffic (telemetry,
  // preconnects), so the agent talks only to its API.
  envDefaults: { DISABLE_AUTOUPDATER: "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1" },
  cliArguments: claudeArguments,
  parseOutput: parseAgentStream,
};
