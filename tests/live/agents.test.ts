/**
 * Issue #22's proof: one stack with three sandboxes, Claude Code, Codex and OpenCode, each running its real
 * CLI from its own image, deployed with the real Pulumi CLI. Each agent's stand-in API (Anthropic's Messages
 * API for Claude Code and OpenCode, OpenAI's Responses API for Codex, all over TLS) scripts a run that writes
 * a file in the workspace with a shell command and answers; a second run resumes that session and a third
 * forks it. Each key
 * reaches only its own API, in that API's header and format, through the sandbox's credential proxy; neither
 * key is anywhere inside any sandbox, and every agent's settings files are read-only in every sandbox.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { AGENT_PROFILES, type Agent } from "../../components/agents";
import { sandboxObjectNames } from "../../components/engine/naming";
import { AGENT_GID, AGENT_UID, AGENT_USER, docker, execIn } from "../../testkit/live/engine";
import { type FakeMessagesApi, type ScriptedTurn, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import { type FakeResponsesApi, startFakeResponsesApi } from "../../testkit/live/fake-responses-api";
import { agentWorkspace, type HostService, liveConfig, PROJECT, sandboxEntry, startHostService, testTls } from "../../testkit/live/live-program";
import { PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";
import { scanForSecrets } from "../../testkit/live/secret-scan";

const STACK = `agents-${process.pid}`;
const AGENTS = ["claude", "codex", "opencode"] as const satisfies readonly Agent[];
const ANTHROPIC_KEY = `sk-ant-test-${randomBytes(20).toString("hex")}`;
const OPENAI_KEY = `sk-proj-test${randomBytes(20).toString("hex")}`;
const KEY_OF = { claude: ANTHROPIC_KEY, codex: OPENAI_KEY, opencode: ANTHROPIC_KEY } as const;
/** A settings file of each agent, in every workspace: each must be read-only in every sandbox. */
const SETTINGS_FILES = [".claude/settings.json", ".codex/config.toml", "opencode.json"];

const fileOf = (agent: Agent) => `${agent}.txt`;
const contentOf = (agent: Agent) => `hello from ${agent}`;
const writeCommand = (agent: Agent) => `printf '${contentOf(agent)}\\n' > ${fileOf(agent)} && cat ${fileOf(agent)}`;
const answerOf = (agent: Agent) => `Wrote ${fileOf(agent)}.`;
const recallOf = (agent: Agent) => `Earlier I wrote ${fileOf(agent)} for you.`;
const branchOf = (agent: Agent) => `On this branch ${agent} would write it in French.`;

/**
 * Each stand-in's script: the writing run (a shell call, then the answer), then the forked run's answer, then
 * the resumed run's (the program starts a session's continuation after the runs forking it).
 */
function messagesScript(agent: "claude" | "opencode"): ScriptedTurn[] {
  // Each CLI's own name for its shell tool.
  const shellTool = agent === "claude" ? "Bash" : "bash";
  return [
    { kind: "tool_use", name: shellTool, input: { command: writeCommand(agent), description: "write the file" } },
    { kind: "text", text: answerOf(agent) },
    { kind: "text", text: branchOf(agent) },
    { kind: "text", text: recallOf(agent) },
  ];
}
const RESPONSES_SCRIPT = [
  { kind: "function_call", name: "exec_command", arguments: { cmd: writeCommand("codex") } },
  { kind: "message", text: answerOf("codex") },
  { kind: "message", text: branchOf("codex") },
  { kind: "message", text: recallOf("codex") },
] as const;

interface Deployed {
  readonly stack: RealStack;
  readonly outputs: Record<string, any>;
}

const gate = new PulumiGate();
let probe: HostService | undefined;
let apis: { claude: FakeMessagesApi; opencode: FakeMessagesApi; codex: FakeResponsesApi } | undefined;
const workspaces = {} as Record<Agent, string>;
let stack: RealStack | undefined;
let deployed: Promise<Deployed> | undefined;

async function upOnce(context: TestContext): Promise<Deployed> {
  gate.requireCli(context);
  deployed ??= stack!.pulumi(["up", "--yes", "--skip-preview"]).then(async () => ({ stack: stack!, outputs: await stack!.outputs() }));
  return deployed;
}

const containerOf = (agent: Agent) => sandboxObjectNames({ project: PROJECT, stack: STACK }, agent).container;

describe("Claude Code, Codex and OpenCode side by side, each through its own credential proxy (live, real Pulumi CLI)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    probe = await startHostService("probe-ok\n");
    const tls = testTls();
    apis = {
      claude: await startFakeMessagesApi({ host: "0.0.0.0", port: 0, tls, script: messagesScript("claude") }),
      opencode: await startFakeMessagesApi({ host: "0.0.0.0", port: 0, tls, script: messagesScript("opencode") }),
      codex: await startFakeResponsesApi({ host: "0.0.0.0", port: 0, tls, script: RESPONSES_SCRIPT }),
    };
    for (const agent of AGENTS) {
      workspaces[agent] = agentWorkspace(`agent-sandbox-${agent}-`);
      for (const file of SETTINGS_FILES) {
        const target = path.join(workspaces[agent], file);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, "{}\n");
        for (const owned of [path.dirname(target), target]) fs.chownSync(owned, AGENT_UID, AGENT_GID);
      }
    }
    stack = await RealStack.create(STACK);
    stack.setConfig(
      liveConfig({
        image: REGISTRY_BASE_IMAGES,
        sandboxes: AGENTS.map((agent) =>
          sandboxEntry({ name: agent, workspace: workspaces[agent], probe: probe!, apiPort: apis![agent].port, extra: { agent } }),
        ),
        runs: AGENTS.flatMap((agent) => [
          { name: `${agent}-write`, sandbox: agent, prompt: `Write ${fileOf(agent)}.`, ...(agent === "claude" ? { allowedTools: ["Bash"] } : {}) },
          { name: `${agent}-recall`, sandbox: agent, prompt: "What did you write?", resume: `${agent}-write` },
          { name: `${agent}-branch`, sandbox: agent, prompt: "What if it were French?", resume: `${agent}-write`, fork: true },
        ]),
      }),
    );
    await stack.setSecret("anthropicApiKey", ANTHROPIC_KEY);
    await stack.setSecret("openaiApiKey", OPENAI_KEY);
  });

  afterAll(async () => {
    await stack?.remove();
    await Promise.all([probe?.close(), ...Object.values(apis ?? {}).map((api) => api.close())]);
    for (const dir of Object.values(workspaces)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("deploys one image per agent, and each sandbox runs its agent's", async (context) => {
    const { outputs } = await upOnce(context);
    const images = new Set<string>();
    for (const agent of AGENTS) {
      const sandbox = outputs.sandboxOutputs[agent];
      expect(sandbox.agent).toBe(agent);
      expect((await docker("inspect", "--format", "{{.Image}}", containerOf(agent))).trim()).toBe(sandbox.imageId);
      const version = await execIn(containerOf(agent), `${AGENT_PROFILES[agent].executable} --version`, { user: AGENT_USER });
      expect(version.output, `${agent} --version`).toContain(AGENT_PROFILES[agent].defaultVersion);
      images.add(sandbox.imageId);
    }
    expect(images.size).toBe(3);
  });

  it("completes each agent's scripted run: the shell command wrote the file, the answer and session are outputs", async (context) => {
    const { outputs } = await upOnce(context);
    for (const agent of AGENTS) {
      const run = outputs.runOutputs[`${agent}-write`];
      const evidence = `${agent}: ${JSON.stringify(run)}`;
      expect(run.success, evidence).toBe(true);
      expect(run.result, evidence).toContain(answerOf(agent));
      expect(run.turns, evidence).toBeGreaterThanOrEqual(1);
      expect(run.sessionId, evidence).toMatch(/\S{8,}/);
      expect(fs.readFileSync(path.join(workspaces[agent], fileOf(agent)), "utf8")).toBe(`${contentOf(agent)}\n`);
    }
  });

  it("resumes and forks each agent's session: the continuation keeps the session, the fork branches a new one", async (context) => {
    const { outputs } = await upOnce(context);
    for (const agent of AGENTS) {
      const [first, resumed, forked] = [`${agent}-write`, `${agent}-recall`, `${agent}-branch`].map((name) => outputs.runOutputs[name]);
      const evidence = `${agent}: ${JSON.stringify({ first, resumed, forked })}`;
      expect(resumed.success, evidence).toBe(true);
      expect(resumed.result, evidence).toContain(recallOf(agent));
      expect(resumed.sessionId, evidence).toBe(first.sessionId);
      expect(forked.success, evidence).toBe(true);
      expect(forked.result, evidence).toContain(branchOf(agent));
      expect(forked.sessionId, evidence).toMatch(/\S{8,}/);
      expect(forked.sessionId, evidence).not.toBe(first.sessionId);
    }
  });

  it("puts each key only on its own API's requests, in that API's header and format, and the tool output reached the API", async (context) => {
    await upOnce(context);
    for (const agent of AGENTS) {
      const api = apis![agent];
      const other = KEY_OF[agent] === ANTHROPIC_KEY ? OPENAI_KEY : ANTHROPIC_KEY;
      expect(api.credentialProblems(KEY_OF[agent]), agent).toEqual([]);
      const seen = JSON.stringify(api.requests);
      expect(seen.includes(other), `${agent}'s API saw the other API's key`).toBe(false);
      expect(seen, `${agent}'s shell output did not reach its API`).toContain(contentOf(agent));
    }
  });

  it("has neither key in any file, process or mount of any sandbox, as the agent or as root, nor in docker inspect", async (context) => {
    await upOnce(context);
    for (const agent of AGENTS) {
      for (const user of [AGENT_USER, "0"]) {
        const scan = await scanForSecrets(containerOf(agent), user, [ANTHROPIC_KEY, OPENAI_KEY]);
        const evidence = `${agent} as ${user}:\n${scan.output.slice(-4000)}`;
        expect(scan.environ, evidence).toBeGreaterThan(0);
        expect(scan.cmdline, evidence).toBeGreaterThan(0);
        expect(scan.leaks, evidence).toEqual([]);
      }
      const inspect = await docker("inspect", containerOf(agent));
      expect(
        [ANTHROPIC_KEY, OPENAI_KEY].filter((key) => inspect.includes(key)),
        agent,
      ).toEqual([]);
    }
  });

  it("keeps every agent's settings files read-only in every sandbox, whichever agent it runs", async (context) => {
    await upOnce(context);
    for (const agent of AGENTS) {
      for (const file of SETTINGS_FILES) {
        const write = await execIn(containerOf(agent), `echo changed >> /workspace/${file}`, { user: AGENT_USER });
        expect(write.exitCode, `${agent}: ${file} was writable`).not.toBe(0);
        expect(write.output, `${agent}: ${file}`).toMatch(/Read-only file system/);
      }
      expect(fs.readFileSync(path.join(workspaces[agent], ".codex/config.toml"), "utf8")).toBe("{}\n");
    }
  });

  it("keeps both keys out of the exported state (ciphertext only) and the runs' outputs", async (context) => {
    const { stack: deployedStack, outputs } = await upOnce(context);
    const { stdout: state } = await deployedStack.pulumi(["stack", "export"]);
    for (const key of [ANTHROPIC_KEY, OPENAI_KEY]) {
      expect(state.includes(key), "a key is plain in the state").toBe(false);
      expect(JSON.stringify(outputs).includes(key), "a key is in the outputs").toBe(false);
    }
  });
});
