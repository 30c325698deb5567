/**
 * A run whose inline prompt changes is updated, not replaced (the prompt is its command's stdin; its
 * triggers stay), and pulumi-command re-runs `create` on update. By default it hands that execution the
 * previous stdout in PULUMI_COMMAND_STDOUT, one environment string, which Linux caps at 128 KiB
 * (MAX_ARG_STRLEN); a run's stdout is the agent's whole stream-json. Here the stand-in Messages API answers
 * with ~200 KB of text, so the stream passes the cap, and the next `pulumi up` after a prompt change must
 * still re-run the agent: a new session, the new answer.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeMessagesApi, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import { agentWorkspace, type HostService, liveConfig, sandboxEntry, startHostService, testTls } from "../../testkit/live/live-program";
import { PulumiGate, REGISTRY_BASE_IMAGES, RealStack, replacedBy, typeAndName } from "../../testkit/live/pulumi-cli";

const STACK = `runupdate-${process.pid}`;
const RUN_URN_SUFFIX = "command:local:Command::run-long";
/** ~200 KB of answer, marked so the two executions' results tell apart. */
const answerOf = (marker: string) => `${marker}\n${`Line of a long answer, ${marker}.\n`.repeat(6000)}End of ${marker}.`;
const FIRST = answerOf("first");
const SECOND = answerOf("second");
const MAX_ARG_STRLEN = 128 * 1024;

const gate = new PulumiGate();
let probe: HostService;
let api: FakeMessagesApi;
let workspace: string;
let stack: RealStack;

function configFor(prompt: string): Record<string, unknown> {
  return liveConfig({
    image: REGISTRY_BASE_IMAGES,
    sandboxes: [sandboxEntry({ name: "main", workspace, probe, apiPort: api.port })],
    runs: [{ name: "long", sandbox: "main", prompt, maxTurns: 2 }],
  });
}

/** The run command's stdout as the state holds it: what an update would hand over in PULUMI_COMMAND_STDOUT. */
function storedStdout(): string {
  const state = JSON.parse(stack.stateText()) as { checkpoint: { latest: { resources: { urn: string; outputs?: { stdout?: string } }[] } } };
  const run = state.checkpoint.latest.resources.find((resource) => resource.urn.endsWith(RUN_URN_SUFFIX));
  if (!run) throw new Error(`no ${RUN_URN_SUFFIX} in the state`);
  return run.outputs?.stdout ?? "";
}

describe("a run updated after a long stream (live, real Pulumi CLI)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    probe = await startHostService("probe-ok\n");
    api = await startFakeMessagesApi({
      host: "0.0.0.0",
      port: 0,
      tls: testTls(),
      script: [
        { kind: "text", text: FIRST },
        { kind: "text", text: SECOND },
      ],
    });
    workspace = agentWorkspace("agent-sandbox-runupdate-");
    stack = await RealStack.create(STACK);
    stack.setConfig(configFor("Write a long answer."));
    await stack.setSecret("anthropicApiKey", `test-key-${process.pid}`);
  });

  afterAll(async () => {
    await stack?.remove();
    await Promise.all([probe?.close(), api?.close()]);
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("runs the agent and keeps a stream longer than one environment string may be", async (context) => {
    gate.requireCli(context);
    await stack.pulumi(["up", "--yes", "--skip-preview"]);
    const { runOutputs } = await stack.outputs();
    expect(runOutputs.long.success, JSON.stringify(runOutputs.long).slice(0, 500)).toBe(true);
    expect(runOutputs.long.result === FIRST, `result of ${String(runOutputs.long.result).length} chars`).toBe(true);
    const bytes = Buffer.byteLength(storedStdout());
    console.log(`[run-update] first run's stream: ${bytes} bytes (MAX_ARG_STRLEN ${MAX_ARG_STRLEN})`);
    expect(bytes).toBeGreaterThan(MAX_ARG_STRLEN);
  });

  it("re-runs the agent when only the inline prompt changes: an update, a new session, the new answer", async (context) => {
    gate.requireCli(context);
    const before = (await stack.outputs()).runOutputs.long;
    stack.setConfig(configFor("Write another long answer."));
    const steps = await stack.previewSteps();
    const run = steps.find((step) => step.urn.endsWith(RUN_URN_SUFFIX));
    expect(run, steps.map((step) => `${step.op} ${typeAndName(step.urn)}`).join("\n")).toMatchObject({ op: "update" });
    expect(run?.diffReasons).toContain("stdin");
    expect(replacedBy(steps).map(typeAndName)).not.toContain("command:local:Command::run-long");
    const up = await stack.pulumi(["up", "--yes", "--skip-preview"], { allowFailure: true });
    const failure = `${up.stdout}\n${up.stderr}`.match(/.*argument list too long.*/)?.[0];
    if (failure) console.log(`[run-update] pulumi up after the prompt change: ${failure.trim()}`);
    expect(up.code, `${up.stdout.slice(-3000)}\n${up.stderr.slice(-3000)}`).toBe(0);
    const after = (await stack.outputs()).runOutputs.long;
    expect(after.success).toBe(true);
    expect(after.result === SECOND, `result of ${String(after.result).length} chars, starting ${JSON.stringify(String(after.result).slice(0, 40))}`).toBe(true);
    expect(after.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(after.sessionId).not.toBe(before.sessionId);
    const noChange = await stack.pulumi(["preview", "--expect-no-changes"], { allowFailure: true });
    expect(noChange.code, `${noChange.stdout}\n${noChange.stderr}`).toBe(0);
  });
});
