/**
 * What the program needs to know about one agent CLI. Everything specific to an agent lives in its own
 * folder (agents/<agent>/) and the APIs they call in providers/, so supporting another CLI
 * is one new folder listed in agents/index.ts.
 */
import type { ApiProvider } from "./api-provider";
import type { AgentRunSummary } from "./run-summary";

/** What a run asks of the agent, in the agent-neutral terms of the stack config's `runs[i]`. */
export interface AgentRunRequest {
  /** Most turns, when the run sets a limit (only agents with `maxTurns` in their runOptions get one). */
  readonly maxTurns?: number;
  readonly model?: string;
  readonly allowedTools: readonly string[];
  /** The session to continue (another run's `sessionId`); unset starts a new one. */
  readonly resumeSessionId?: string;
  /** With resumeSessionId: branch a new session off it instead of appending to it. */
  readonly forkSession?: boolean;
}

/** How the agent's CLI is pointed at its API: the sandbox sets these, the credential proxy stands in for the API. */
export interface AgentApi {
  /** Variable that points the CLI at its API (set to the credential proxy's root plus `baseUrlPath`). */
  readonly baseUrlEnv: string;
  /** What the CLI wants after the origin in that URL: `/v1` for CLIs that post to `<base>/messages` or `<base>/responses`, none for those adding the version themselves. */
  readonly baseUrlPath: string;
  /** Variable the CLI takes an API key from: the sandbox gets only a placeholder there. */
  readonly keyEnv: string;
  /** Variables that carry the agent's credentials; the sandbox config may not set them under `auth: proxy`. */
  readonly credentialEnv: readonly string[];
}

/** Options of `runs[i]` beyond the prompt that only some CLIs have; the others are refused for an agent without them. */
export type AgentRunOption = "maxTurns" | "allowedTools" | "model" | "resume" | "fork";

export interface AgentProfile {
  /** The name stack config uses in `sandboxes[i].agent`; also the name of its folder, which holds its image files (image/install-cli.sh). */
  readonly name: string;
  /** The CLI's executable in the image, as a person runs it interactively. */
  readonly executable: string;
  /** Release the image pins when `image.agentVersions` does not name one. */
  readonly defaultVersion: string;
  /** The API the agent calls: its stack secret, its key header, its endpoint. */
  readonly provider: ApiProvider;
  /** Sign-in and token refresh of a subscription login, as allowlist entries: allowed only with `auth: subscription`. */
  readonly signInEndpoints: readonly string[];
  /** How the CLI is pointed at its API (`auth: proxy`). */
  readonly api: AgentApi;
  /** Environment every sandbox of this agent gets unless its config sets the variable. */
  readonly envDefaults: Readonly<Record<string, string>>;
  /** Workspace files the CLI reads as its own settings (hooks, MCP servers, permissions): the sandbox mounts them read-only. */
  readonly protectedPaths: readonly string[];
  /** The run options of `runs[i]` this CLI has. */
  readonly runOptions: readonly AgentRunOption[];
  /** The non-interactive invocation (the prompt arrives on stdin), from the executable on. */
  cliArguments(run: AgentRunRequest): string[];
  /** Summarises the invocation's whole stdout; never throws. */
  parseOutput(stdout: string): AgentRunSummary;
}
