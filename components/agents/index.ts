/** The agents the program knows how to run, by the name `sandboxes[i].agent` takes. */
import type { AgentProfile } from "./agent";
import { claude } from "./claude";

export type { AgentProfile, AgentRunRequest } from "./agent";

/** The agent CLI a sandbox runs. */
export const Agent = {
  /** Claude Code. */
  Claude: "claude",
} as const;
export type Agent = (typeof Agent)[keyof typeof Agent];

export const AGENT_PROFILES: Record<Agent, AgentProfile> = { [Agent.Claude]: claude };

/** The agent whose CLI docker/agent installs: its release is `image.agentVersion`'s default. */
export const IMAGE_AGENT: AgentProfile = claude;

export function agentProfile(agent: Agent): AgentProfile {
  return AGENT_PROFILES[agent];
}
