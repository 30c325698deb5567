import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { opencode, opencodeArguments } from "../../components/agents/opencode";
import { parseOpencodeRun } from "../../components/agents/opencode/run-json";

const fixture = (name: string) => fs.readFileSync(path.resolve(__dirname, "../fixtures/opencode-stream", `${name}.ndjson`), "utf8");

/** Values that change with every re-recording, read plainly from a fixture's events. */
const recorded = (name: string) => {
  const events = fixture(name)
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as { sessionID: string; timestamp: number });
  return { sessionId: events[0].sessionID, durationMs: events.at(-1)!.timestamp - events[0].timestamp };
};

describe("parseOpencodeRun on recorded OpenCode runs", () => {
  it("reads a bash call followed by an answer as a successful two-step run, summing the steps' cost", () => {
    expect(parseOpencodeRun(fixture("bash-tool-success"))).toEqual({
      success: true,
      resultText: "Created hello.txt.",
      turns: 2,
      durationMs: recorded("bash-tool-success").durationMs,
      costUsd: 0.0012,
      sessionId: recorded("bash-tool-success").sessionId,
    });
  });

  it("keeps the session id of a resumed run, and a fork gets a new one", () => {
    const resumed = parseOpencodeRun(fixture("resumed"));
    expect(resumed).toMatchObject({ success: true, resultText: "I wrote hello.txt with a shell command.", turns: 1 });
    expect(resumed.sessionId).toBe(recorded("bash-tool-success").sessionId);
    const forked = parseOpencodeRun(fixture("forked"));
    expect(forked.success).toBe(true);
    expect(forked.sessionId).not.toBe(resumed.sessionId);
  });

  it("fails a run whose API answered 401 with the API's message and status", () => {
    expect(parseOpencodeRun(fixture("auth-error"))).toEqual({
      success: false,
      resultText: "",
      turns: 0,
      durationMs: 0,
      costUsd: undefined,
      sessionId: recorded("auth-error").sessionId,
      error: "invalid x-api-key (HTTP 401)",
    });
  });

  it("fails a run that stopped at a refused tool call, quoting the refusal", () => {
    const summary = parseOpencodeRun(fixture("permission-rejected"));
    expect(summary).toMatchObject({ success: false, turns: 1, resultText: "" });
    expect(summary.error).toBe("the agent stopped after its write tool failed: The user rejected permission to use this specific tool call.");
  });

  it("passes on OpenCode's own words for an unknown model, unhelpful as they are", () => {
    expect(parseOpencodeRun(fixture("unknown-model")).error).toBe("Unexpected server error. Check server logs for details.");
  });
});

describe("parseOpencodeRun on damaged output", () => {
  const event = (type: string, part: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ type, timestamp: 1000, sessionID: "ses_1", part, ...extra });
  const finish = (reason: string) => event("step_finish", { reason, cost: 0.5 });

  it("skips lines that are not JSON objects and unknown events", () => {
    const stdout = ["warn", "[1]", "{broken", event("future", {}), event("text", { text: "ok", messageID: "m" }), finish("stop")].join("\n");
    expect(parseOpencodeRun(stdout)).toMatchObject({ success: true, resultText: "ok", costUsd: 0.5, sessionId: "ses_1" });
  });

  it("joins the text parts of the last message only", () => {
    const text = (text: string, messageID: string) => event("text", { text, messageID });
    const stdout = [text("earlier", "m1"), text("Hello ", "m2"), text("world", "m2"), finish("stop")].join("\r\n");
    expect(parseOpencodeRun(stdout).resultText).toBe("Hello world");
  });

  it("measures the time from the first event to the last", () => {
    const stdout = [event("step_start", {}, { timestamp: 1000 }), event("step_finish", { reason: "stop" }, { timestamp: 3500 })].join("\n");
    expect(parseOpencodeRun(stdout)).toMatchObject({ durationMs: 2500, turns: 1, costUsd: undefined });
  });

  it("fails a run whose last step ended for another reason than an answer", () => {
    expect(parseOpencodeRun(finish("length")).error).toBe("the agent's last step ended with reason length, not with an answer");
  });

  it("fails an empty stdout, and output cut off after a tool call, quoting the last lines", () => {
    expect(parseOpencodeRun("")).toMatchObject({ success: false, error: expect.stringContaining("printed nothing") });
    const cut = parseOpencodeRun([event("step_start", {}), finish("tool-calls")].join("\n"));
    expect(cut.error).toContain("ended before a finished step");
    expect(cut.error).toContain('"reason":"tool-calls"');
  });

  it("names an error event that has no message, and masks keys in one that has", () => {
    expect(parseOpencodeRun(JSON.stringify({ type: "error", error: { name: "ProviderInitError" } })).error).toBe("ProviderInitError");
    // Assembled at run time so the repository holds nothing shaped like a real key.
    const key = ["sk", "ant", "api03", "abcDEF_123"].join("-");
    expect(parseOpencodeRun(JSON.stringify({ type: "error", error: { data: { message: `bad ${key}` } } })).error).toBe("bad sk-ant-***");
  });
});

describe("opencodeArguments", () => {
  const base = { maxTurns: 5, allowedTools: [] };

  it("reads the prompt from stdin and names a new session after it instead of asking the model", () => {
    expect(opencodeArguments(base)).toEqual(["opencode", "run", "--format", "json", "--title"]);
  });

  it("takes a bare model name from Anthropic and passes a provider/model through", () => {
    expect(opencodeArguments({ ...base, model: "claude-sonnet-4-5" })).toContain("anthropic/claude-sonnet-4-5");
    expect(opencodeArguments({ ...base, model: "openai/gpt-5" })).toContain("openai/gpt-5");
  });

  it("continues or forks a session by id", () => {
    expect(opencodeArguments({ ...base, resumeSessionId: "ses_1" }).slice(-2)).toEqual(["--session", "ses_1"]);
    expect(opencodeArguments({ ...base, resumeSessionId: "ses_1", forkSession: true }).slice(-3)).toEqual(["--session", "ses_1", "--fork"]);
  });

  it("has no flag for a turn limit or a tool allowlist", () => {
    expect(opencodeArguments({ maxTurns: 1, allowedTools: ["bash"] })).toEqual(opencodeArguments(base));
  });

  it("keeps the CLI from updating itself or reaching services besides the API", () => {
    expect(opencode.envDefaults).toMatchObject({ OPENCODE_DISABLE_AUTOUPDATE: "1", OPENCODE_DISABLE_MODELS_FETCH: "1", OPENCODE_DISABLE_SHARE: "1" });
  });
});
