/** The agents the program knows how to run, by the name `sandboxes[i].agent` takes. */
import type { AgentProfile } from "./agent";
import { claude } from "./claude";
import { codex } from "./codex";
import { opencode } from "./opencode";

export type { AgentProfile, AgentRunOption, AgentRunRequest } from "./agent";
export { API_KEY_SECRETS, API_PROVIDERS, type ApiKeySecret, type ApiProvider, type ApiProviderName } from "./providers";
export type { AgentRunSummary } from "./run-summary";

/** How the agent in a sandbox authenticates to its API. */
export const AgentAuth = {
  /** The credential proxy beside the sandbox adds the stack's API key; the sandbox holds only a placeholder. */
  Proxy: "proxy",
  /** The agent's own login (OAuth), kept in the sandbox's home volume: weaker, the sandbox holds the token. */
  Subscription: "subscription",
} as const;
export type AgentAuth = (typeof AgentAuth)[keyof typeof AgentAuth];

/** The agent CLI a sandbox runs. */
export const Agent = {
  /** Claude Code. */
  Claude: "claude",
  /** OpenAI's Codex CLI, on the Responses API. */
  Codex: "codex",
  /** OpenCode, on Anthropic's Messages API. */
  OpenCode: "opencode",
} as const;
export type Agent = (typeof Agent)[keyof typeof Agent];

/** The agent of a sandbox whose config names none. */
export const DEFAULT_AGENT: Agent = Agent.Claude;

export const AGENT_PROFILES: Record<Agent, AgentProfile> = { [Agent.Claude]: claude, [Agent.Codex]: codex, [Agent.OpenCode]: opencode };

export function agentProfile(agent: Agent): AgentProfile {
  return AGENT_PROFILES[agent];
}
