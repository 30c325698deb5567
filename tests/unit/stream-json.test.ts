import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAgentStream } from "../../components/agents/claude/stream-json";

const fixture = (name: string) => fs.readFileSync(path.resolve(__dirname, "../fixtures/claude-stream", `${name}.jsonl`), "utf8");

/** The fixture's result line read plainly, for values that change with every re-recording (ids, timings). */
const rawResult = (name: string) =>
  JSON.parse(
    fixture(name)
      .split("\n")
      .find((line) => line.includes('"type":"result"')) ?? "{}",
  ) as Record<string, unknown>;

describe("parseAgentStream on recorded Claude Code runs", () => {
  it("reads a plain text answer as a successful one-turn run", () => {
    const raw = rawResult("text-success");
    expect(parseAgentStream(fixture("text-success"))).toEqual({
      success: true,
      resultText: "Hello! How can I help you today?",
      turns: 1,
      durationMs: raw.duration_ms,
      costUsd: 0.0008,
      sessionId: raw.session_id,
    });
  });

  it("reads a Write tool call followed by an answer as a successful two-turn run", () => {
    const summary = parseAgentStream(fixture("write-tool-success"));
    expect(summary).toMatchObject({ success: true, resultText: "Created hello.txt.", turns: 2, costUsd: 0.0016 });
    expect(summary.error).toBeUndefined();
  });

  it("treats an API error as a failure even though the CLI labels its result subtype success", () => {
    expect(parseAgentStream(fixture("api-error"))).toMatchObject({
      success: false,
      error: "Invalid API key · Fix external API key",
      sessionId: rawResult("api-error").session_id,
    });
  });

  it("takes the message of a max-turns stop from the errors list, since that result has no text", () => {
    expect(parseAgentStream(fixture("max-turns"))).toMatchObject({
      success: false,
      resultText: "",
      turns: 2,
      error: "Reached maximum number of turns (1)",
    });
  });

  it("reports a run killed before its result line, with the API failure it was retrying", () => {
    const summary = parseAgentStream(fixture("killed-while-retrying"));
    expect(summary.success).toBe(false);
    expect(summary.error).toContain("ended without a result line");
    expect(summary.error).toContain("attempt 3 of 10, HTTP 401 authentication_failed");
  });

  it("keeps the session id of a run that never printed a result line", () => {
    expect(parseAgentStream(fixture("killed-while-retrying")).sessionId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("parseAgentStream on damaged output", () => {
  const resultLine = (fields: Record<string, unknown>) =>
    JSON.stringify({ type: "result", subtype: "success", is_error: false, num_turns: 1, duration_ms: 5, result: "ok", ...fields });

  it("skips lines that are not JSON objects", () => {
    const stdout = ["npm warn something odd", "[1,2]", "42", "{broken json", resultLine({})].join("\n");
    expect(parseAgentStream(stdout)).toMatchObject({ success: true, resultText: "ok" });
  });

  it("passes unknown line types and unknown fields through", () => {
    const stdout = [JSON.stringify({ type: "future_event", data: 1 }), resultLine({ brand_new_field: { x: 1 } })].join("\n");
    expect(parseAgentStream(stdout).success).toBe(true);
  });

  it("reads the last result line when there are several", () => {
    const stdout = [resultLine({ result: "first" }), resultLine({ result: "second", num_turns: 3 })].join("\n");
    expect(parseAgentStream(stdout)).toMatchObject({ resultText: "second", turns: 3 });
  });

  it("tolerates Windows line endings", () => {
    expect(parseAgentStream(`${resultLine({})}\r\n`).success).toBe(true);
  });

  it("fails an empty stdout with a message saying nothing was printed", () => {
    expect(parseAgentStream("")).toMatchObject({ success: false, turns: 0, error: expect.stringContaining("printed nothing") });
  });

  it("fails output without a result line and quotes its last lines", () => {
    const summary = parseAgentStream("starting\nSegmentation fault\n");
    expect(summary.success).toBe(false);
    expect(summary.error).toContain("Segmentation fault");
  });

  it("counts the model responses of a run cut off before its result line", () => {
    const assistant = (id: string) => JSON.stringify({ type: "assistant", message: { id, content: [{ type: "text", text: "x" }] } });
    expect(parseAgentStream([assistant("msg_1"), assistant("msg_1"), assistant("msg_2")].join("\n")).turns).toBe(2);
  });

  it("fails a result line missing a field it needs, naming the field", () => {
    const summary = parseAgentStream(JSON.stringify({ type: "result", subtype: "success", is_error: false, duration_ms: 5 }));
    expect(summary.success).toBe(false);
    expect(summary.error).toContain("num_turns");
  });

  it("names the subtype of an error result that carries no message", () => {
    const summary = parseAgentStream(resultLine({ subtype: "error_during_execution", is_error: true, result: undefined }));
    expect(summary.error).toBe("the agent ended with error_during_execution and gave no message");
  });

  it("masks an API key that appears in the agent's error", () => {
    // Assembled at run time so the repository holds nothing shaped like a real key.
    const keyShaped = ["sk", "ant", "api03", "abcDEF_123"].join("-");
    const summary = parseAgentStream(resultLine({ is_error: true, result: `bad key ${keyShaped}` }));
    expect(summary.error).toBe("bad key sk-ant-***");
  });
});
