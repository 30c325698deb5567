/**
 * Existing stacks keep their resources across the move into the AgentSandboxes component: a stack made
 * by the program as it was before the component (every resource at the stack's top level) is updated by
 * today's program, and the real engine adds the component (and the few resources later features add beside
 * the old ones) and changes nothing it had. Without the aliases every URN would differ,
 * and the engine would replace the home volume, losing the agent's logins.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxObjectNames } from "../../src/engine/naming";
import { docker } from "../../testkit/live/engine";
import { agentWorkspace, type HostService, liveConfig, PROJECT, sandboxEntry, startHostService } from "../../testkit/live/live-program";
import { hasRevision, PulumiGate, REGISTRY_BASE_IMAGES, RealStack, typeAndName } from "../../testkit/live/pulumi-cli";
import { type FakeMessagesApi, startFakeMessagesApi } from "./support/fake-messages-api";

/** The last commit whose program declared everything at the stack's top level (components/, no AgentSandboxes). */
const PROGRAM_BEFORE_COMPONENT = "0a53efeaa12fc512cf089509826df4ce022d0570";
const STACK = `alias-${process.pid}`;
const NAMES = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main");

const gate = new PulumiGate();
let probe: HostService;
let api: FakeMessagesApi;
let workspace: string;
let stack: RealStack | undefined;

/** What identifies the engine objects a replacement would recreate. */
async function engineIdentity(): Promise<string> {
  const container = await docker("inspect", "-f", "{{.Id}} {{.Created}}", NAMES.container);
  const home = await docker("volume", "inspect", "-f", "{{.Name}} {{.CreatedAt}}", NAMES.home);
  return `${container.trim()} | ${home.trim()}`;
}

describe("an existing stack under the AgentSandboxes component (live)", () => {
  beforeAll(async () => {
    if (!(await gate.ready()) || !hasRevision(PROGRAM_BEFORE_COMPONENT)) return;
    probe = await startHostService("probe-ok\n");
    // Plain http through the egress proxy: the program of PROGRAM_BEFORE_COMPONENT predates the credential proxy and apiUpstream.
    api = await startFakeMessagesApi({ host: "0.0.0.0", port: 0, script: [{ kind: "text", text: "done" }] });
    workspace = agentWorkspace("agent-sandbox-alias-");
    stack = await RealStack.create(STACK, { revision: PROGRAM_BEFORE_COMPONENT });
    stack.setConfig(
      liveConfig({
        image: REGISTRY_BASE_IMAGES,
        sandboxes: [
          sandboxEntry({
            name: "main",
            workspace,
            probe,
            apiPort: api.port,
            apiThroughEgress: true,
          }),
        ],
        runs: [{ name: "hello", sandbox: "main", prompt: "Say done.", maxTurns: 2 }],
      }),
    );
    await stack.setSecret("anthropicApiKey", "test-key-alias");
  });

  afterAll(async () => {
    await stack?.remove();
    await Promise.all([probe?.close(), api?.close()]);
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("changes nothing the old program made, and keeps the container and home volume, when today's program takes over the stack", async (context) => {
    gate.requireCli(context);
    if (!stack) context.skip(`the git history lacks ${PROGRAM_BEFORE_COMPONENT}, the program before the component (a shallow clone?)`);
    await stack!.pulumi(["up", "--yes", "--skip-preview"]);
    const before = await engineIdentity();
    expect(stack!.stateText()).not.toContain("agent-sandbox:index:AgentSandboxes");

    stack!.useCurrentProgram();
    // Every resource the old program made is the same one: nothing is updated, replaced or deleted. New are
    // the component itself and what later features added beside the old resources (a run's risky-change report).
    const changes = (await stack!.previewSteps()).filter((step) => step.op !== "same").map((step) => `${step.op} ${typeAndName(step.urn)}`);
    expect(changes.sort()).toEqual([
      "create agent-sandbox:index:AgentSandboxes::agent-sandbox",
      "create command:local:Command::run-hello-baseline",
      "create command:local:Command::run-hello-changes",
    ]);
    await stack!.pulumi(["up", "--yes", "--skip-preview"]);
    const after = await stack!.pulumi(["preview", "--expect-no-changes", "--diff"], { allowFailure: true });
    expect(after.code, `${after.stdout}\n${after.stderr}`).toBe(0);

    expect(await engineIdentity()).toBe(before);
    // The resources now sit under the component: the aliases were applied, not merely left unused.
    const state = stack!.stateText();
    expect(state).toContain("agent-sandbox:index:AgentSandboxes$agent-sandbox:index:AgentSandbox$docker:index/volume:Volume::main-home");
    expect((await stack!.outputs()).runOutputs.hello).toMatchObject({ success: true, result: "done" });
  });
});
