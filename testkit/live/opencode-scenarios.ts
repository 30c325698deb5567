/**
 * Recorded OpenCode runs (tests/fixtures/opencode-stream/): the Messages API stand-in's script, the prompt
 * and the run request, run with the profile's own arguments and environment defaults and only
 * ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY pointing at the stand-in, so the fixtures show what a sandbox run prints.
 */
import fs from "node:fs";
import path from "node:path";
import type { AgentRunRequest } from "../../components/agents/agent";
import { opencode } from "../../components/agents/opencode";
import { type CliResult, runCli } from "./agent-clis";
import { type RecordedRequest, type ScriptedTurn, startFakeMessagesApi } from "./fake-messages-api";

export const OPENCODE_MODEL = "claude-sonnet-4-5";
export const WRITTEN_FILE = "hello.txt";
export const WRITTEN_CONTENT = "Hello from the sandbox\n";
/** Outside the recording's project folder: OpenCode asks before writing there, and a headless run refuses. */
export const OUTSIDE_FILE = "/tmp/agent-sandbox-fixtures/outside.txt";

export interface OpencodeScenario {
  readonly name: string;
  readonly prompt: string;
  readonly script: readonly ScriptedTurn[];
  readonly request: AgentRunRequest;
  /** Continue the session the first scenario of a recording started. */
  readonly resumes?: boolean;
}

const baseRequest: AgentRunRequest = { maxTurns: 10, model: OPENCODE_MODEL, allowedTools: [] };

export const OPENCODE_SCENARIOS = {
  bashTool: {
    name: "bash-tool-success",
    prompt: `Create ${WRITTEN_FILE} saying hello`,
    script: [
      {
        kind: "tool_use",
        name: "bash",
        input: { command: `printf '${WRITTEN_CONTENT.trim()}\\n' > ${WRITTEN_FILE} && cat ${WRITTEN_FILE}`, description: `Write ${WRITTEN_FILE}` },
      },
      { kind: "text", text: `Created ${WRITTEN_FILE}.` },
    ],
    request: baseRequest,
  },
  resumed: {
    name: "resumed",
    prompt: "What did you just do?",
    script: [{ kind: "text", text: `I wrote ${WRITTEN_FILE} with a shell command.` }],
    request: baseRequest,
    resumes: true,
  },
  forked: {
    name: "forked",
    prompt: "Try another greeting",
    script: [{ kind: "text", text: "This branch of the session says hi instead." }],
    request: { ...baseRequest, forkSession: true },
    resumes: true,
  },
  authError: {
    name: "auth-error",
    prompt: "Say hello",
    script: [{ kind: "error", status: 401, errorType: "authentication_error", message: "invalid x-api-key", times: Infinity }],
    request: baseRequest,
  },
  permissionRejected: {
    name: "permission-rejected",
    prompt: "Write a file outside the project",
    script: [
      { kind: "tool_use", name: "write", input: { filePath: OUTSIDE_FILE, content: "outside\n" } },
      { kind: "text", text: "Never reached: the run stops at the refused tool call." },
    ],
    request: baseRequest,
  },
  unknownModel: {
    name: "unknown-model",
    prompt: "Say hello",
    script: [],
    request: { ...baseRequest, model: "claude-no-such-model" },
  },
} as const satisfies Record<string, OpencodeScenario>;

export interface OpencodeScenarioRun extends CliResult {
  readonly requests: readonly RecordedRequest[];
  readonly credentialProblems: readonly string[];
}

export const FAKE_ANTHROPIC_KEY = "fake-anthropic-key-for-tests";

/** Runs one scenario in `root`/workspace with HOME `root`/home, so sessions of earlier scenarios there can be resumed. */
export async function runOpencodeScenario(binary: string, scenario: OpencodeScenario, root: string, sessionToResume?: string): Promise<OpencodeScenarioRun> {
  const workspace = path.join(root, "workspace");
  const home = path.join(root, "home");
  for (const dir of [workspace, home]) fs.mkdirSync(dir, { recursive: true });
  const api = await startFakeMessagesApi({ script: scenario.script });
  try {
    const request = scenario.resumes ? { ...scenario.request, resumeSessionId: sessionToResume } : scenario.request;
    const [, ...args] = opencode.cliArguments(request);
    const result = await runCli({
      command: binary,
      args,
      cwd: workspace,
      env: {
        PATH: "/usr/local/bin:/usr/bin:/bin",
        HOME: home,
        ...opencode.envDefaults,
        // As in a sandbox, where it is the credential proxy's root plus the profile's baseUrlPath.
        [opencode.api.baseUrlEnv]: `${api.url}${opencode.api.baseUrlPath}`,
        [opencode.api.keyEnv]: FAKE_ANTHROPIC_KEY,
      },
      stdin: scenario.prompt,
      timeoutMs: 60_000,
    });
    return { ...result, requests: [...api.requests], credentialProblems: api.credentialProblems(FAKE_ANTHROPIC_KEY) };
  } finally {
    await api.close();
  }
}
