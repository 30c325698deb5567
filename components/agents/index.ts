/** The agents the program knows how to run, by the name `sandboxes[i].agent` takes. */
import type { AgentProfile } from "./agent";
import { claude } from "./claude";
import { codex } from "./codex";
import { opencode } from "./opencode";

export type { AgentProfile, AgentRunRequest } from "./agent";
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

export const AGENT_PROFILES: Record<Agent, AgentProfile> = { [Agent.Claude]: claude, [Agent.Codex]: codex, [Agent.OpenCode]: opencode };

/** The agent whose CLI docker/agent installs: its release is `image.agentVersion`'s default. */
export const IMAGE_AGENT: AgentProfile = claude;

export function agentProfile(agent: Agent): AgentProfile {
  return AGENT_PROFILES[agent];
}
