import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { claude, claudeArguments } from "../../components/agents/claude";
import { parseStackConfig } from "../../components/config/stack-schema";
import { type EngineClient, engineClient } from "../../components/engine/client";
import { agentRunScript } from "../../components/runs/agent-run";
import { engineExec } from "../../components/sandbox/exec";
import { runWithFakeDocker } from "./support/fake-docker";
import { evaluateProgram, FIXTURES, makeWorkspace } from "./support/program";

const run = (extra: Record<string, unknown> = {}) =>
  parseStackConfig({ workspace: "/home/me/app", runs: [{ name: "fix", sandbox: "main", prompt: "p", ...extra }] }, { homeDir: "/home/me" }).runs[0];

const NASTY_PROMPT = `Fix "the bug" in 'main.ts' $(touch /tmp/PWNED-MARKER) \`id\` $HOME; echo done
second line with a trailing backslash \\`;

function runScript(options: { dockerExit?: number; dockerStdout?: string; extraEnv?: Record<string, string>; prompt?: string; engine?: EngineClient } = {}) {
  return runWithFakeDocker(agentRunScript(claude, run(), engineExec(options.engine ?? engineClient())), {
    stdin: options.prompt ?? NASTY_PROMPT,
    env: { AGENT_USER: "1000:1000", CONTAINER: "agent-sandbox-dev-main", ...options.extraEnv },
    dockerExit: options.dockerExit,
    dockerStdout: options.dockerStdout,
  });
}

describe("an agent run", () => {
  it("hands the prompt over on stdin byte for byte, running nothing inside it", () => {
    fs.rmSync("/tmp/PWNED-MARKER", { force: true });
    const result = runScript();
    expect(result.status).toBe(0);
    expect(result.stdin()).toBe(NASTY_PROMPT);
    expect(fs.existsSync("/tmp/PWNED-MARKER")).toBe(false);
  });

  it("execs the agent in the sandbox as the agent user in /workspace, non-interactive with stream-json", () => {
    expect(runScript().args()).toEqual([
      "exec",
      "-i",
      "-u",
      "1000:1000",
      "-w",
      "/workspace",
      "agent-sandbox-dev-main",
      "agent-exec",
      "claude",
      "-p",
      "--output-format",
      "stream-json",
      "--verbose",
      "--max-turns",
      "20",
      "--permission-mode",
      "acceptEdits",
    ]);
  });

  it("starts the docker CLI from an empty environment, not the Pulumi CLI's", () => {
    const env = runScript().env();
    expect(env).not.toMatch(/PULUMI_ACCESS_TOKEN|AWS_SECRET_ACCESS_KEY|AGENT_USER|CONTAINER/);
    expect(env).toMatch(/^PATH=/m);
  });

  it("passes only the engine address through when the stack targets a remote engine", () => {
    const env = runScript({ engine: engineClient({ host: "ssh://me@box" }), extraEnv: { DOCKER_HOST: "ssh://me@box" } }).env();
    expect(env).toMatch(/^DOCKER_HOST=ssh:\/\/me@box$/m);
    expect(env).not.toMatch(/PULUMI_ACCESS_TOKEN/);
  });

  it("prints the agent's stream on stdout for parsing", () => {
    const stream = fs.readFileSync(path.join(FIXTURES, "claude-stream/text-success.jsonl"), "utf8");
    expect(runScript({ dockerStdout: stream }).stdout).toBe(stream);
  });

  it("fails with the agent's own error when the agent fails", () => {
    const stream = fs.readFileSync(path.join(FIXTURES, "claude-stream/api-error.jsonl"), "utf8");
    const resultLine = stream
      .trimEnd()
      .split("\n")
      .filter((line) => line.includes('"type":"result"'))
      .pop()!;
    const result = runScript({ dockerExit: 1, dockerStdout: stream });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("agent run failed (exit 1):");
    expect(result.stderr).toContain(resultLine);
    expect(result.stderr).toContain("docker: stderr line");
  });

  it("adds model and allowed tools as separate, quoted arguments", () => {
    expect(claudeArguments(run({ model: "claude-sonnet", allowedTools: ["Read", "Bash(npm test)"] })).slice(-5)).toEqual([
      "--model",
      "claude-sonnet",
      "--allowedTools",
      "Read",
      "Bash(npm test)",
    ]);
  });
});

describe("agent runs in the program", () => {
  const stream = fs.readFileSync(path.join(FIXTURES, "claude-stream/write-tool-success.jsonl"), "utf8");

  it("becomes stack outputs parsed from the agent's stream", async () => {
    const ws = makeWorkspace();
    const program = await evaluateProgram({
      config: { workspace: ws.dir, image: { agentUid: ws.uid, agentGid: ws.gid }, runs: [{ name: "hello", sandbox: "main", prompt: NASTY_PROMPT }] },
      secrets: { anthropicApiKey: "test-api-key-0000-not-a-real-key" },
      runStdout: stream,
    });
    expect(program.outputs.runOutputs).toEqual({
      hello: {
        success: true,
        result: "Created hello.txt.",
        turns: 2,
        durationMs: 176,
        costUsd: 0.0016,
        sessionId: "df61233d-d7ef-4ec2-9ebb-bc4baef09c37",
        riskyChanges: [],
      },
    });
    const command = program.one("command:local:Command", "run-hello");
    expect(command.inputs.stdin).toBe(NASTY_PROMPT);
    // An update (a new prompt) re-runs the command; its previous stream must not go into its environment.
    expect(command.inputs.addPreviousOutputInEnv).toBe(false);
    expect(command.inputs.create).not.toContain("PWNED");
    expect(command.options.dependsOn).toContain("main-start");
  });
});
