/**
 * The real Codex binary against the Responses API stand-in, through the image's wrapper with the profile's
 * arguments and only the sandbox's two variables: proves that the base URL and key come from the
 * environment and that what Codex prints parses to the expected summary. Skips (saying why) where the
 * unpacked CLI is absent, as it is on machines that never fetched it.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codex } from "../../components/agents/codex";
import { codexBinary, codexWrapper } from "../../testkit/live/agent-clis";
import { CODEX_SCENARIOS, FAKE_OPENAI_KEY, runCodexScenario, WRITTEN_CONTENT, WRITTEN_FILE } from "../../testkit/live/codex-scenarios";

const cli = codexBinary();
if (!cli.found) console.log(`skipping the live Codex runs: ${cli.reason}`);

describe.skipIf(!cli.found)("Codex 0.171 against the Responses API stand-in", () => {
  let wrapper: string;
  let root: string;
  beforeAll(() => {
    if (!cli.found) return;
    wrapper = codexWrapper(cli.binary);
    root = fs.mkdtempSync(path.join(os.tmpdir(), "codex-live-"));
  });
  afterAll(() => {
    for (const dir of [wrapper && path.dirname(wrapper), root]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("runs a shell command, answers, and sends the key only as a bearer token to /v1/responses", async () => {
    const run = await runCodexScenario(wrapper, CODEX_SCENARIOS.execCommand, root);
    const summary = codex.parseOutput(run.stdout);
    expect(summary, run.stderr).toMatchObject({ success: true, resultText: "Created hello.txt.", turns: 1 });
    expect(summary.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(fs.readFileSync(path.join(root, "workspace", WRITTEN_FILE), "utf8")).toBe(WRITTEN_CONTENT);
    expect(run.credentialProblems).toEqual([]);
    // No WebSocket attempt: every request is a plain POST that the credential proxy can forward.
    expect(run.requests.map((request) => `${request.method} ${request.path}`)).toEqual(["POST /v1/responses", "POST /v1/responses"]);
    expect(run.requests[0].authorization).toBe(`Bearer ${FAKE_OPENAI_KEY}`);
  });

  it("continues that session when resumed", async () => {
    const first = await runCodexScenario(wrapper, CODEX_SCENARIOS.execCommand, root);
    const firstSession = codex.parseOutput(first.stdout).sessionId;
    const resumed = await runCodexScenario(wrapper, CODEX_SCENARIOS.resumed, root, firstSession);
    expect(codex.parseOutput(resumed.stdout)).toMatchObject({ success: true, sessionId: firstSession });
    // The resumed request carries the earlier turn: the shell command's output is in its input.
    expect(JSON.stringify(resumed.requests[0].body)).toContain("function_call_output");
  });

  it("fails with the API's own complaint when it answers 401", async () => {
    const run = await runCodexScenario(wrapper, CODEX_SCENARIOS.authError, root);
    expect(run.exitCode).toBe(1);
    expect(codex.parseOutput(run.stdout)).toMatchObject({ success: false, error: expect.stringContaining("Incorrect API key provided") });
  });
});
