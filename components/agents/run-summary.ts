/** The outcome of one agent run, as every agent module reports it and the stack outputs show it. */
export interface AgentRunSummary {
  readonly success: boolean;
  /** The agent's final answer (empty when it gave none). */
  readonly resultText: string;
  readonly turns: number;
  readonly durationMs: number;
  readonly costUsd?: number;
  readonly sessionId?: string;
  /** Why the run failed, in the agent's own words where it gave any; absent on success. */
  readonly error?: string;
}
