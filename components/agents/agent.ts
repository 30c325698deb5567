/**
 * What the program needs to know about one agent CLI. Everything specific to an agent lives in its own
 * module (agents/claude/), so supporting a second CLI is one new module listed in agents/index.ts.
 */
import type { AgentRunSummary } from "./run-summary";

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

/** What the credential proxy must know to put the stack's key on the agent's API requests. */
export interface AgentApi {
  /** Where the credential proxy forwards to unless `apiUpstream` says otherwise. */
  readonly defaultUpstream: string;
  /** Variable that points the CLI at its API (set to the credential proxy). */
  readonly baseUrlEnv: string;
  /** Variable the CLI takes an API key from: the sandbox gets only a placeholder there. */
  readonly keyEnv: string;
  /** Variables that carry the agent's credentials; the sandbox config may not set them under `auth: proxy`. */
  readonly credentialEnv: readonly string[];
  /** Request header that carries the key to the API: the proxy replaces it with the stack's key. */
  readonly keyHeader: string;
  /** An answer in the API's own error shape (JSON), which the CLI prints: the credential proxy's reply when the stack has no key. */
  errorBody(message: string): string;
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
  /** Its API as an allowlist entry: reached by CONNECT only with `auth: subscription` (else the credential proxy stands in). */
  readonly apiEndpoint: string;
  /** Sign-in and token refresh of a subscription login, as allowlist entries: allowed only with `auth: subscription`. */
  readonly signInEndpoints: readonly string[];
  /** URL the sandbox's healthcheck probes through the proxy to prove the API is reachable (any HTTP answer counts). */
  readonly apiProbeUrl: string;
  /** How the credential proxy stands in for the agent's API (`auth: proxy`). */
  readonly api: AgentApi;
  /** Environment every sandbox of this agent gets unless its config sets the variable. */
  readonly envDefaults: Readonly<Record<string, string>>;
  /** The non-interactive invocation (the prompt arrives on stdin), from the executable on. */
  cliArguments(run: AgentRunRequest): string[];
  /** Summarises the invocation's whole stdout; never throws. */
  parseOutput(stdout: string): AgentRunSummary;
}
