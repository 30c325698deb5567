/**
 * The bench's agents part: for each agent (Claude Code, Codex, OpenCode), what a run costs beyond the bare
 * CLI in the same sandbox. One stack holds a sandbox of each agent, each behind its credential proxy with its
 * stand-in API over TLS scripting the same task (a shell command writing a file, then the answer). Timed in
 * turn, RUNS times each: the run command the program declared (the run script through `docker exec` and
 * agent-exec, its stream kept and printed) and the bare CLI, `docker exec -i` of the same arguments and
 * prompt as the same user in the same container, nothing around it (target: within 1.1x). The first run (the
 * deploy's own) is not timed. Run it alone with `npm run bench -- --only agents`.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { AGENT_PROFILES, type Agent } from "../../components/agents";
import { sandboxObjectNames } from "../../components/engine/naming";
import { type RealizedResource, rerunCreate, secretConfig } from "../../testkit/harness";
import { type FakeMessagesApi, type ScriptedTurn, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import { type FakeResponsesApi, type ResponsesTurn, startFakeResponsesApi } from "../../testkit/live/fake-responses-api";
import { agentWorkspace, type HostService, LiveSuite, liveConfig, PROJECT, sandboxEntry, startHostService, testTls } from "../../testkit/live/live-program";
import { docker, median, secondsSince } from "./engine-measures";
import type { Recorder } from "./isolation";

const RUNS = 3;
const TARGET = 1.1;
const STACK = `bench-agents-${process.pid}`;
const AGENTS: readonly Agent[] = ["claude", "codex", "opencode"];
const PROMPT = "Write the run's file, then say done.";
const ANSWER = "Done.";
/** Every run of a sandbox, the deploy's, the timed ones and the bare ones: each consumes one task of the script. */
const TASKS = 1 + 2 * RUNS;

const fileOf = (task: number) => `task-${task}.txt`;
/** Each task writes the next file, so a run that did not run the shell command is seen. */
const commandOf = (task: number) => `printf 'task ${task}\\n' > ${fileOf(task)} && cat ${fileOf(task)}`;

function messagesTurns(shellTool: string): ScriptedTurn[] {
  return Array.from({ length: TASKS }, (_, task): ScriptedTurn[] => [
    { kind: "tool_use", name: shellTool, input: { command: commandOf(task), description: "write the file" } },
    { kind: "text", text: ANSWER },
  ]).flat();
}

function responsesTurns(): ResponsesTurn[] {
  return Array.from({ length: TASKS }, (_, task): ResponsesTurn[] => [
    { kind: "function_call", name: "exec_command", arguments: { cmd: commandOf(task) } },
    { kind: "message", text: ANSWER },
  ]).flat();
}

/** The bare CLI: its arguments and the prompt on stdin, `docker exec -i` as the run's user in /workspace; resolves with its stdout. */
function bareRun(container: string, user: string, agent: Agent): Promise<string> {
  const args = AGENT_PROFILES[agent].cliArguments({ allowedTools: agent === "claude" ? ["Bash"] : [] });
  return new Promise((resolve, reject) => {
    const child = spawn("docker", ["exec", "-i", "-u", user, "-w", "/workspace", container, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`bare ${agent} exited ${code}: ${stderr.slice(-2000)}`))));
    child.stdin.end(PROMPT);
  });
}

/** A run must have done the task it was given: its answer, and the file of that task in the workspace. */
function checkTask(agent: Agent, workspace: string, task: number, stdout: string): void {
  const summary = AGENT_PROFILES[agent].parseOutput(stdout);
  const written = path.join(workspace, fileOf(task));
  if (!summary.success || !summary.resultText.includes(ANSWER) || !fs.existsSync(written)) {
    throw new Error(`${agent} task ${task} was not done: ${JSON.stringify({ summary, written: fs.existsSync(written) })}`);
  }
}

function runOf(resources: readonly RealizedResource[], agent: Agent): RealizedResource {
  const run = resources.find((resource) => resource.type === "command:local:Command" && resource.name === `run-${agent}-task`);
  if (!run) throw new Error(`the deploy declared no run command for the ${agent} sandbox`);
  return run;
}

export async function benchAgentRuns(record: Recorder): Promise<void> {
  const suite = new LiveSuite(STACK);
  const opened: (HostService | FakeMessagesApi | FakeResponsesApi)[] = [];
  const workspaces = {} as Record<Agent, string>;
  try {
    const probe = await startHostService("bench-probe");
    const tls = testTls();
    const apis = {
      claude: await startFakeMessagesApi({ host: "0.0.0.0", tls, script: messagesTurns("Bash") }),
      codex: await startFakeResponsesApi({ host: "0.0.0.0", tls, script: responsesTurns() }),
      opencode: await startFakeMessagesApi({ host: "0.0.0.0", tls, script: messagesTurns("bash") }),
    };
    opened.push(probe, ...Object.values(apis));
    for (const agent of AGENTS) workspaces[agent] = agentWorkspace(`agent-sandbox-bench-${agent}-`);
    const deployed = await suite.deploy(
      STACK,
      liveConfig({
        sandboxes: AGENTS.map((agent) => sandboxEntry({ name: agent, workspace: workspaces[agent], probe, apiPort: apis[agent].port, extra: { agent } })),
        runs: AGENTS.map((agent) => ({ name: `${agent}-task`, sandbox: agent, prompt: PROMPT, ...(agent === "claude" ? { allowedTools: ["Bash"] } : {}) })),
        anthropicApiKey: secretConfig(`bench-anthropic-${process.pid}`),
        openaiApiKey: secretConfig(`bench-openai-${process.pid}`),
      }),
    );
    for (const agent of AGENTS) {
      checkTask(agent, workspaces[agent], 0, String(runOf(deployed.resources, agent).outputs.stdout));
      const container = sandboxObjectNames({ project: PROJECT, stack: STACK }, agent).container;
      const user = JSON.parse(docker(["inspect", container]))[0].Config.User as string;
      const program: number[] = [];
      const bare: number[] = [];
      // Alternated, so neither is always the one after a pause; each takes the next task of the script.
      let task = 0;
      for (let round = 0; round < RUNS; round += 1) {
        for (const kind of round % 2 === 0 ? (["program", "bare"] as const) : (["bare", "program"] as const)) {
          task += 1;
          const started = Date.now();
          const stdout = kind === "program" ? (await rerunCreate(runOf(deployed.resources, agent))).stdout : await bareRun(container, user, agent);
          (kind === "program" ? program : bare).push(secondsSince(started));
          checkTask(agent, workspaces[agent], task, stdout);
        }
      }
      console.error(`bench: ${agent} run samples: program ${program.map((s) => s.toFixed(3)).join(", ")}; bare ${bare.map((s) => s.toFixed(3)).join(", ")}`);
      const ratio = median(program) / median(bare);
      record(
        `agent run, ${agent} (scripted shell command and answer, stand-in API through the credential proxy): run command / bare CLI, median of ${RUNS}`,
        `${median(program).toFixed(2)} s / ${median(bare).toFixed(2)} s: ${ratio.toFixed(2)}x${ratio > TARGET ? ", MISSED" : ""}`,
        `target <= ${TARGET}x`,
      );
    }
  } finally {
    await suite.teardown();
    await Promise.all(opened.map((service) => service.close()));
    for (const dir of Object.values(workspaces)) fs.rmSync(dir, { recursive: true, force: true });
  }
}
