import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { parseAgentStream } from "../../components/agents/claude/stream-json";
import { credentialProblems, type FakeMessagesApi, type RecordedRequest, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import { testCa } from "../../testkit/live/test-ca";
import { type CliAvailability, claudeCliBinary } from "./support/claude-cli";
import { runScenario, SCENARIOS, type ScenarioRun, WRITTEN_CONTENT, WRITTEN_FILE } from "./support/claude-scenarios";

const postMessages = (api: FakeMessagesApi, body: Record<string, unknown>) =>
  fetch(`${api.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "test-key" },
    body: JSON.stringify(body),
  });

type ScenarioArgs = Parameters<typeof runScenario> extends [string, ...infer Rest] ? Rest : never;

const mainLoopRequest = { model: "claude-test", max_tokens: 32_000, tools: [{ name: "Write" }], messages: [] };

describe("the Messages API stand-in", () => {
  let api: FakeMessagesApi;
  beforeAll(async () => {
    api = await startFakeMessagesApi({
      script: [
        { kind: "text", text: "Hello" },
        { kind: "error", status: 529, errorType: "overloaded_error", message: "Overloaded" },
      ],
    });
  });
  afterAll(() => api.close());

  it("streams server-sent events in the API's order", async () => {
    const response = await postMessages(api, { ...mainLoopRequest, stream: true });
    const events = [...(await response.text()).matchAll(/^event: (\w+)$/gm)].map((match) => match[1]);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(events).toEqual([
      "message_start",
      "content_block_start",
      "ping",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
  });

  it("answers an error turn with its status and the API's error body", async () => {
    const response = await postMessages(api, { ...mainLoopRequest, stream: true });
    expect(response.status).toBe(529);
    expect(await response.json()).toMatchObject({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } });
  });

  it("answers a side call without tools outside the script", async () => {
    const response = await postMessages(api, { model: "claude-test", max_tokens: 512, messages: [] });
    expect(await response.json()).toMatchObject({ type: "message", content: [{ type: "text", text: "ok" }] });
    expect(api.requests.at(-1)?.scriptIndex).toBeUndefined();
  });

  it("names the exhausted script in a non-retryable error", async () => {
    const response = await postMessages(api, mainLoopRequest);
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain("script exhausted (2 turns)");
  });

  it("records the API key each request carried", () => {
    expect(api.requests.map((request) => request.apiKey)).toEqual(["test-key", "test-key", "test-key", "test-key"]);
  });
});

/** A POST over https trusting the test CA only, with the headers given. */
function postOverTls(url: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = https.request(url, { method: "POST", ca: testCa().caCert, headers: { "content-type": "application/json", ...headers } }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on("error", reject);
    request.end(JSON.stringify(body));
  });
}

describe("the Messages API stand-in over TLS, and its key check", () => {
  const key = "sk-ant-test-tls-key";
  let api: FakeMessagesApi;
  beforeAll(async () => {
    api = await startFakeMessagesApi({ tls: testCa().tls, script: [{ kind: "text", text: "Hello" }] });
  });
  afterAll(() => api.close());

  it("serves https with the test CA's host.docker.internal certificate (127.0.0.1 is in it)", async () => {
    expect(api.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const response = await postOverTls(`${api.url}/v1/messages`, { "x-api-key": key }, mainLoopRequest);
    expect(response.status, response.text).toBe(200);
    expect(api.credentialProblems(key)).toEqual([]);
  });

  it("names a missing or wrong key and any other header or body carrying the key, never the key itself", () => {
    const request = (headers: Record<string, string>, body: unknown = {}): RecordedRequest => ({
      method: "POST",
      path: "/v1/messages?beta=true",
      headers,
      apiKey: headers["x-api-key"],
      authorization: headers.authorization,
      body,
      scriptIndex: 0,
    });
    const problems = credentialProblems(
      [
        request({ "x-api-key": key }),
        request({}),
        request({ "x-api-key": "placeholder" }),
        request({ "x-api-key": key, authorization: `Bearer ${key}` }),
        request({ "x-api-key": key }, { messages: [{ content: `env: ${key}` }] }),
      ],
      key,
    );
    expect(problems).toEqual([
      "request #2 (POST /v1/messages?beta=true): x-api-key is missing",
      "request #3 (POST /v1/messages?beta=true): x-api-key is not the configured key",
      "request #4 (POST /v1/messages?beta=true): header authorization contains the key",
      "request #5 (POST /v1/messages?beta=true): the body contains the key",
    ]);
    expect(problems.join("\n")).not.toContain(key);
  });
});

describe("the real Claude Code CLI against the stand-in", () => {
  let cli: CliAvailability = { available: false, reason: "not checked yet" };
  let write: ScenarioRun;
  const roots: string[] = [];

  const freshRoot = () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "claude-live-"));
    roots.push(root);
    return root;
  };
  const runIn = async (binary: string, ...args: ScenarioArgs) => {
    const run = await runScenario(binary, ...args);
    console.log(`[live] ${args[0].name}: exit ${run.exitCode}, ${run.requests.length} API requests`);
    return run;
  };
  /** The CLI needs no engine, only npm to fetch it once; without it these tests skip with the reason. */
  const cliBinary = (context: TestContext): string => {
    if (!cli.available) context.skip(`Claude Code CLI unavailable: ${cli.reason}`);
    return cli.binary;
  };

  beforeAll(async () => {
    cli = await claudeCliBinary();
    if (!cli.available) {
      console.warn(`[live] Claude Code CLI tests skipped: ${cli.reason}`);
      return;
    }
    write = await runIn(cli.binary, SCENARIOS.writeToolSuccess, freshRoot());
  });
  afterAll(() => {
    for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
  });

  it("creates the file the model asked the Write tool for", (context) => {
    cliBinary(context);
    const written = path.join(write.workspace, WRITTEN_FILE);
    expect(fs.existsSync(written), `stdout:\n${write.stdout}\nstderr:\n${write.stderr}`).toBe(true);
    expect(fs.readFileSync(written, "utf8")).toBe(WRITTEN_CONTENT);
  });

  it("ends with a stream that parses as a successful two-turn run", (context) => {
    cliBinary(context);
    expect(parseAgentStream(write.stdout), write.stdout).toMatchObject({ success: true, turns: 2, resultText: "Created hello.txt." });
    expect(write.exitCode).toBe(0);
  });

  it("sends the API key and the tool result back to the API", (context) => {
    cliBinary(context);
    expect(write.requests.map((request) => request.apiKey)).toEqual(["test-key", "test-key"]);
    expect(JSON.stringify(write.requests[1].body)).toContain('"type":"tool_result"');
  });

  it("delivers a prompt given on stdin intact", async (context) => {
    const prompt = `Line one\n"quoted" $(id) \`uname\` ünïcødé; rm -rf /`;
    const run = await runIn(cliBinary(context), { ...SCENARIOS.textSuccess, prompt }, freshRoot(), { promptOnStdin: true });
    const [first] = run.requests;
    const blocks = (first.body as { messages: { content: { type: string; text?: string }[] }[] }).messages[0].content;
    expect(blocks.at(-1), JSON.stringify(blocks)).toEqual({ type: "text", text: prompt });
  });

  it("reports an API failure as a failed run carrying the CLI's message", async (context) => {
    const run = await runIn(cliBinary(context), SCENARIOS.apiError, freshRoot());
    expect(parseAgentStream(run.stdout)).toMatchObject({ success: false, error: "Invalid API key · Fix external API key" });
    expect(run.exitCode).toBe(1);
  });
});
