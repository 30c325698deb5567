import fs from "node:fs";
import path from "node:path";
import { type RecordedRequest, type ScriptedTurn, startFakeMessagesApi } from "../../../testkit/live/fake-messages-api";
import { type ClaudeRunResult, runClaude } from "./claude-cli";

/**
 * Flags for a non-interactive run whose stdout is one JSON object per line. The CLI refuses stream-json
 * under -p without --verbose ("--output-format=stream-json requires --verbose").
 */
const STREAM_JSON_ARGS = ["--output-format", "stream-json", "--verbose"] as const;

/**
 * Lets file edits through without a prompt, confined to the working directory. Narrower than
 * `--allowedTools Write`, which was seen to write outside the project, and than
 * --dangerously-skip-permissions (refused as root anyway). It still allows read-only and plain
 * filesystem shell commands (mkdir, rm) inside the project; curl and interpreters stay denied.
 */
const ACCEPT_EDITS_ARGS = ["--permission-mode", "acceptEdits"] as const;

/** One recorded CLI run: the model's script, the prompt and the flags. Fixture files are named after it. */
export interface ClaudeScenario {
  readonly name: string;
  readonly prompt: string;
  readonly script: (workspace: string) => readonly ScriptedTurn[];
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export const WRITTEN_FILE = "hello.txt";
export const WRITTEN_CONTENT = "Hello from the sandbox\n";

const persistentAuthFailure: ScriptedTurn = {
  kind: "error",
  status: 401,
  errorType: "authentication_error",
  message: "invalid x-api-key",
  times: Infinity,
};

export const SCENARIOS = {
  textSuccess: {
    name: "text-success",
    prompt: "Say hello",
    script: () => [{ kind: "text", text: "Hello! How can I help you today?" }],
    args: STREAM_JSON_ARGS,
  },
  writeToolSuccess: {
    name: "write-tool-success",
    prompt: `Create ${WRITTEN_FILE} saying hello`,
    script: (workspace) => [
      {
        kind: "tool_use",
        name: "Write",
        input: { file_path: path.join(workspace, WRITTEN_FILE), content: WRITTEN_CONTENT },
        text: `I'll create ${WRITTEN_FILE}.`,
      },
      { kind: "text", text: `Created ${WRITTEN_FILE}.` },
    ],
    args: [...STREAM_JSON_ARGS, ...ACCEPT_EDITS_ARGS],
  },
  apiError: {
    name: "api-error",
    prompt: "Say hello",
    script: () => [persistentAuthFailure],
    args: STREAM_JSON_ARGS,
    // Without this the CLI retries the 401 ten times with backoff (about two and a half minutes).
    env: { CLAUDE_CODE_MAX_RETRIES: "0" },
  },
  maxTurns: {
    name: "max-turns",
    prompt: `Create ${WRITTEN_FILE} saying hello`,
    script: (workspace) => [
      { kind: "tool_use", name: "Write", input: { file_path: path.join(workspace, WRITTEN_FILE), content: WRITTEN_CONTENT } },
      { kind: "text", text: "Never reached: the run stops after one turn." },
    ],
    args: [...STREAM_JSON_ARGS, ...ACCEPT_EDITS_ARGS, "--max-turns", "1"],
  },
  killedWhileRetrying: {
    name: "killed-while-retrying",
    prompt: "Say hello",
    script: () => [persistentAuthFailure],
    args: STREAM_JSON_ARGS,
    // Killed by the timeout during the retry backoff: the stream ends without a result line.
    timeoutMs: 4_000,
  },
} satisfies Record<string, ClaudeScenario>;

export interface ScenarioRun extends ClaudeRunResult {
  readonly workspace: string;
  readonly requests: readonly RecordedRequest[];
}

/**
 * Runs a scenario in `root`/workspace with HOME `root`/home against a fresh stand-in on loopback. The
 * prompt goes on the command line, or on stdin with `promptOnStdin` (as agent-run.ts sends it).
 */
export async function runScenario(binary: string, scenario: ClaudeScenario, root: string, { promptOnStdin = false } = {}): Promise<ScenarioRun> {
  const workspace = path.join(root, "workspace");
  const home = path.join(root, "home");
  fs.mkdirSync(workspace, { recursive: true });
  fs.mkdirSync(home, { recursive: true });
  const api = await startFakeMessagesApi({ host: "127.0.0.1", script: scenario.script(workspace) });
  try {
    const run = await runClaude({
      binary,
      baseUrl: api.url,
      cwd: workspace,
      home,
      args: promptOnStdin ? ["-p", ...scenario.args] : ["-p", scenario.prompt, ...scenario.args],
      stdin: promptOnStdin ? scenario.prompt : undefined,
      extraEnv: scenario.env,
      timeoutMs: scenario.timeoutMs,
    });
    return { ...run, workspace, requests: api.requests };
  } finally {
    await api.close();
  }
}
