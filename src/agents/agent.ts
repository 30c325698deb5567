/**
 * What the program needs to know about one agent CLI. Everything specific to an agent lives in its own
 * module (agents/claude/), so supporting a second CLI is one new module listed in agents/index.ts.
 */
import type { AgentRunSummary } from "../runs/run-summary";

/** What a run asks of the agent, in the agent-neutral terms of the stack config's `runs[i]`. */
export interface AgentRunRequest {
  readonly maxTurns: number;
  readonly model?: string;
  readonly allowedTools: readonly string[];
  /** The session to continue (another run's `sessionId`); unset starts a new one. */
  readonly resumeSessionId?: string;
  /** With resumeSessionId: branch a new session off it instead of appending to it. */
  readonly forkSession?: boolean;
}

export interface AgentProfile {
  /** The name stack config uses in `sandboxes[i].agent`. */
  readonly name: string;
  /** The CLI's executable in the image, as a person runs it interactively. */
  readonly executable: string;
  /** Release the image pins when `image.agentVersion` is unset. */
  readonly defaultVersion: string;
  /** Build argument of docker/agent/Dockerfile that receives the version. */
  readonly versionBuildArg: string;
  /** Endpoints the agent needs to work (its API, sign-in and token refresh), as allowlist entries. */
  readonly endpoints: readonly string[];
  /** URL the sandbox's healthcheck probes through the proxy to prove the API is reachable (any HTTP answer counts). */
  readonly apiProbeUrl: string;
  /** Environment every sandbox of this agent gets unless its config sets the variable. */
  readonly envDefaults: Readonly<Record<string, string>>;
  /** The non-interactive invocation (the prompt arrives on stdin), from the executable on. */
  cliArguments(run: AgentRunRequest): string[];
  /** Summarises the invocation's whole stdout; never throws. */
  parseOutput(stdout: string): AgentRunSummary;
}
