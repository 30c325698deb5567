import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { codex, codexArguments } from "../../components/agents/codex";
import { parseCodexExec } from "../../components/agents/codex/exec-jsonl";

const fixture = (name: string) => fs.readFileSync(path.resolve(__dirname, "../fixtures/codex-stream", `${name}.jsonl`), "utf8");

/** The thread id a fixture's first line announces, which changes with every re-recording. */
const threadId = (name: string) => (JSON.parse(fixture(name).split("\n")[0]) as { thread_id: string }).thread_id;

describe("parseCodexExec on recorded Codex runs", () => {
  it("reads a shell command followed by an answer as a successful one-turn run with the last message", () => {
    expect(parseCodexExec(fixture("exec-command-success"))).toEqual({
      success: true,
      resultText: "Created hello.txt.",
      turns: 1,
      durationMs: 0,
      sessionId: threadId("exec-command-success"),
    });
  });

  it("keeps the session id of a resumed run, and a fork gets a new one", () => {
    const resumed = parseCodexExec(fixture("resumed"));
    expect(resumed).toMatchObject({ success: true, resultText: "I wrote hello.txt with a shell command.", sessionId: threadId("exec-command-success") });
    const forked = parseCodexExec(fixture("forked"));
    expect(forked.success).toBe(true);
    expect(forked.sessionId).not.toBe(resumed.sessionId);
  });

  it("fails a run whose API kept answering 401, in Codex's words", () => {
    const summary = parseCodexExec(fixture("auth-error"));
    expect(summary).toMatchObject({ success: false, resultText: "", turns: 1, sessionId: threadId("auth-error") });
    expect(summary.error).toMatch(/^unexpected status 401 Unauthorized: Incorrect API key provided/);
  });

  it("fails a run without a key before any request", () => {
    expect(parseCodexExec(fixture("missing-key"))).toMatchObject({ success: false, error: "Missing environment variable: `OPENAI_API_KEY`." });
  });

  it("does not fail a run on warning items", () => {
    expect(fixture("exec-command-success")).toContain('"type":"error","message":"Model metadata');
    expect(parseCodexExec(fixture("exec-command-success")).error).toBeUndefined();
  });
});

describe("parseCodexExec on damaged output", () => {
  const line = (value: Record<string, unknown>) => JSON.stringify(value);
  const completed = line({ type: "turn.completed", usage: {} });
  const message = (text: string) => line({ type: "item.completed", item: { id: "i", type: "agent_message", text } });

  it("skips lines that are not JSON objects and unknown events", () => {
    const stdout = ["warning: odd", "[1]", "{broken", line({ type: "future.event" }), message("ok"), completed].join("\n");
    expect(parseCodexExec(stdout)).toMatchObject({ success: true, resultText: "ok" });
  });

  it("judges the run by its last turn, counting every turn", () => {
    const failed = line({ type: "turn.failed", error: { message: "boom" } });
    const turn = line({ type: "turn.started" });
    expect(parseCodexExec([turn, failed, turn, message("second"), completed].join("\n"))).toMatchObject({ success: true, turns: 2, resultText: "second" });
    expect(parseCodexExec([turn, completed, turn, failed].join("\r\n"))).toMatchObject({ success: false, turns: 2, error: "boom" });
  });

  it("fails an empty stdout saying nothing was printed", () => {
    expect(parseCodexExec("")).toMatchObject({ success: false, turns: 0, error: expect.stringContaining("printed nothing") });
  });

  it("reports a run cut off mid-turn with the last error Codex printed", () => {
    const stdout = [line({ type: "turn.started" }), line({ type: "error", message: "Reconnecting... 2/5 (stream disconnected)" })].join("\n");
    const summary = parseCodexExec(stdout);
    expect(summary.success).toBe(false);
    expect(summary.error).toContain("ended without turn.completed or turn.failed");
    expect(summary.error).toContain("Its last error: Reconnecting... 2/5 (stream disconnected)");
  });

  it("names a failed turn that carries no message", () => {
    expect(parseCodexExec(line({ type: "turn.failed" })).error).toBe("the agent's turn failed and it gave no message");
  });

  it("masks an OpenAI key in the agent's error, keeping its kind", () => {
    // Assembled at run time so the repository holds nothing shaped like a real key.
    const projectKey = ["sk", "proj", "abcDEF123_xyz789"].join("-");
    const summary = parseCodexExec(line({ type: "turn.failed", error: { message: `bad key ${projectKey}` } }));
    expect(summary.error).toBe("bad key sk-proj-***");
  });
});

describe("codexArguments", () => {
  const base = { maxTurns: 5, allowedTools: [] };

  it("reads the prompt from stdin and prints JSONL, with Codex's own sandbox off", () => {
    expect(codexArguments(base)).toEqual([
      "codex",
      "exec",
      "--json",
      "--skip-git-repo-check",
      "--dangerously-bypass-approvals-and-sandbox",
      "-c",
      "analytics.enabled=false",
      "-",
    ]);
  });

  it("resumes or forks a session by id, the id right before the stdin prompt", () => {
    const resumed = codexArguments({ ...base, model: "gpt-5.1-codex", resumeSessionId: "thread-1" });
    expect(resumed.slice(0, 3)).toEqual(["codex", "exec", "resume"]);
    expect(resumed.slice(-4)).toEqual(["--model", "gpt-5.1-codex", "thread-1", "-"]);
    expect(codexArguments({ ...base, resumeSessionId: "thread-1", forkSession: true }).slice(0, 3)).toEqual(["codex", "exec", "fork"]);
  });

  it("has no flag for a turn limit or a tool allowlist", () => {
    expect(codexArguments({ maxTurns: 1, allowedTools: ["Bash"] })).toEqual(codexArguments(base));
  });

  it("answers a missing key in OpenAI's error shape", () => {
    expect(JSON.parse(codex.provider.errorBody("no key"))).toEqual({
      error: { message: "no key", type: "invalid_request_error", param: null, code: "invalid_api_key" },
    });
  });
});
