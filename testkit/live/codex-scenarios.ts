/**
 * Recorded Codex runs (tests/fixtures/codex-stream/): the stand-in's script, the prompt and the run
 * request, run through the image's wrapper with the profile's own arguments, so the fixtures show what a
 * sandbox run prints.
 */
import fs from "node:fs";
import path from "node:path";
import type { AgentRunRequest } from "../../components/agents/agent";
import { codex } from "../../components/agents/codex";
import { type CliResult, runCli } from "./agent-clis";
import { type RecordedResponsesRequest, type ResponsesTurn, startFakeResponsesApi } from "./fake-responses-api";

export const CODEX_MODEL = "gpt-5.1-codex";
export const WRITTEN_FILE = "hello.txt";
export const WRITTEN_CONTENT = "Hello from the sandbox\n";

export interface CodexScenario {
  readonly name: string;
  readonly prompt: string;
  readonly script: readonly ResponsesTurn[];
  /** The run request; `resumeSessionId` is filled in from the scenario's first session when `resumes` is set. */
  readonly request: AgentRunRequest;
  /** Continue the session the first scenario of a recording started. */
  readonly resumes?: boolean;
  /** Leave OPENAI_API_KEY unset, as a sandbox without the placeholder would. */
  readonly withoutKey?: boolean;
}

const baseRequest: AgentRunRequest = { maxTurns: 10, model: CODEX_MODEL, allowedTools: [] };

export const CODEX_SCENARIOS = {
  execCommand: {
    name: "exec-command-success",
    prompt: `Create ${WRITTEN_FILE} saying hello`,
    script: [
      { kind: "function_call", name: "exec_command", arguments: { cmd: `printf '${WRITTEN_CONTENT.trim()}\\n' > ${WRITTEN_FILE} && cat ${WRITTEN_FILE}` } },
      { kind: "message", text: `Created ${WRITTEN_FILE}.` },
    ],
    request: baseRequest,
  },
  resumed: {
    name: "resumed",
    prompt: "What did you just do?",
    script: [{ kind: "message", text: `I wrote ${WRITTEN_FILE} with a shell command.` }],
    request: baseRequest,
    resumes: true,
  },
  forked: {
    name: "forked",
    prompt: "Try another greeting",
    script: [{ kind: "message", text: "This branch of the session says hi instead." }],
    request: { ...baseRequest, forkSession: true },
    resumes: true,
  },
  authError: {
    name: "auth-error",
    prompt: "Say hello",
    // Codex retries a 401 five times (about ten seconds) before it fails the turn.
    script: [
      {
        kind: "error",
        status: 401,
        errorType: "invalid_request_error",
        code: "invalid_api_key",
        message: "Incorrect API key provided: wrong-key.",
        times: Infinity,
      },
    ],
    request: baseRequest,
  },
  missingKey: {
    name: "missing-key",
    prompt: "Say hello",
    script: [],
    request: baseRequest,
    withoutKey: true,
  },
} as const satisfies Record<string, CodexScenario>;

export interface CodexScenarioRun extends CliResult {
  readonly requests: readonly RecordedResponsesRequest[];
  readonly credentialProblems: readonly string[];
}

/** The key the stand-in expects: no real key's shape, so nothing in a fixture looks like a secret. */
export const FAKE_OPENAI_KEY = "fake-openai-key-for-tests";

/**
 * Runs one scenario with `wrapper` (testkit/live/agent-clis.ts's codexWrapper) in `root`/workspace with
 * HOME `root`/home, so sessions of earlier scenarios there can be resumed.
 */
export async function runCodexScenario(wrapper: string, scenario: CodexScenario, root: string, sessionToResume?: string): Promise<CodexScenarioRun> {
  const workspace = path.join(root, "workspace");
  const home = path.join(root, "home");
  for (const dir of [workspace, home]) fs.mkdirSync(dir, { recursive: true });
  const api = await startFakeResponsesApi({ script: scenario.script });
  try {
    const request = scenario.resumes ? { ...scenario.request, resumeSessionId: sessionToResume } : scenario.request;
    const [, ...args] = codex.cliArguments(request);
    const result = await runCli({
      command: wrapper,
      args,
      cwd: workspace,
      env: {
        PATH: "/usr/local/bin:/usr/bin:/bin",
        HOME: home,
        [codex.api.baseUrlEnv]: api.url,
        ...(scenario.withoutKey ? {} : { [codex.api.keyEnv]: FAKE_OPENAI_KEY }),
      },
      stdin: scenario.prompt,
      timeoutMs: 60_000,
    });
    return { ...result, requests: [...api.requests], credentialProblems: scenario.withoutKey ? [] : api.credentialProblems(FAKE_OPENAI_KEY) };
  } finally {
    await api.close();
  }
}
