import https from "node:https";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeResponsesApi, responsesCredentialProblems, startFakeResponsesApi } from "../../testkit/live/fake-responses-api";
import { testCa } from "../../testkit/live/test-ca";

let api: FakeResponsesApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const post = (url: string, key: string) =>
  fetch(`${url}/responses`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-test", stream: true, input: [] }),
  });

/** The SSE events of a streamed answer, as [event name, data] pairs. */
function events(body: string): [string, Record<string, unknown>][] {
  return body
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const [eventLine, dataLine] = block.split("\n");
      return [eventLine.replace("event: ", ""), JSON.parse(dataLine.replace("data: ", ""))];
    });
}

describe("fake-responses-api", () => {
  it("streams a function call and then a message, each item whole in output_item.done", async () => {
    api = await startFakeResponsesApi({
      script: [
        { kind: "function_call", name: "exec_command", arguments: { cmd: "ls" } },
        { kind: "message", text: "done" },
      ],
    });
    const call = events(await (await post(api.url, "k")).text());
    expect(call.map(([name]) => name)).toEqual([
      "response.created",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(call[5][1].item).toMatchObject({ type: "function_call", name: "exec_command", arguments: '{"cmd":"ls"}', call_id: "call_fake_1" });
    const message = events(await (await post(api.url, "k")).text());
    expect(message.find(([name]) => name === "response.output_item.done")?.[1].item).toMatchObject({
      type: "message",
      content: [{ type: "output_text", text: "done" }],
    });
    expect(message.at(-1)?.[1]).toMatchObject({ response: { status: "completed", model: "gpt-test", usage: { total_tokens: 120 } } });
  });

  it("answers in OpenAI's error shape once the script is exhausted, naming the request", async () => {
    api = await startFakeResponsesApi({ script: [] });
    const response = await post(api.url, "k");
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { type: "invalid_request_error", code: "script_exhausted", message: expect.stringContaining("request #1") },
    });
  });

  it("repeats an error turn `times` requests in a row", async () => {
    api = await startFakeResponsesApi({
      script: [
        { kind: "error", status: 401, errorType: "invalid_request_error", code: "invalid_api_key", message: "bad key", times: 2 },
        { kind: "message", text: "ok" },
      ],
    });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(api.url, "k")).status);
    expect(statuses).toEqual([401, 401, 200]);
  });

  it("finds a key that is missing, wrong, or anywhere but the authorization header", async () => {
    api = await startFakeResponsesApi({
      script: [
        { kind: "message", text: "a" },
        { kind: "message", text: "b" },
      ],
    });
    await post(api.url, "the-key");
    expect(api.credentialProblems("the-key")).toEqual([]);
    await post(api.url, "other");
    await fetch(`${api.url}/models?key=the-key`);
    expect(api.credentialProblems("the-key")).toEqual([
      "request #2 (POST /v1/responses): authorization is not Bearer and the configured key",
      "request #3 (GET /v1/models?key=<key>): the path contains the key",
    ]);
    expect(() => responsesCredentialProblems([], "")).toThrow();
  });

  it("serves https with the test CA's key pair", async () => {
    const ca = testCa();
    api = await startFakeResponsesApi({ script: [{ kind: "message", text: "over tls" }], tls: ca.tls });
    expect(api.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1$/);
    const body = await new Promise<string>((resolve, reject) => {
      const request = https.request(`${api?.url}/responses`, { method: "POST", ca: ca.caCert }, (response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => {
          text += chunk.toString("utf8");
        });
        response.on("end", () => resolve(text));
      });
      request.on("error", reject);
      request.end("{}");
    });
    expect(body).toContain('"text":"over tls"');
  });
});
