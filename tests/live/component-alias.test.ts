/**
 * Existing stacks keep their resources across the move into the AgentSandboxes component: a stack made
 * by the program as it was before the component (every resource at the stack's top level) is updated by
 * today's program, and the real engine keeps the home volume (with whatever login it holds) and the
 * workspace. Without the aliases every URN would differ, and the engine would replace the home volume,
 * losing the agent's logins. What does change is exactly what taking the key out of the sandbox needs
 * (#14): the sandbox container is replaced without the credentials volume, which is deleted, and the
 * credential proxy is created beside it.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxObjectNames } from "../../components/engine/naming";
import { docker } from "../../testkit/live/engine";
import { type FakeMessagesApi, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import { agentWorkspace, execIn, type HostService, liveConfig, PROJECT, sandboxEntry, startHostService, testTls } from "../../testkit/live/live-program";
import { hasRevision, PulumiGate, REGISTRY_BASE_IMAGES, RealStack, typeAndName } from "../../testkit/live/pulumi-cli";

/** The last commit whose program declared everything at the stack's top level (components/, no AgentSandboxes). */
const PROGRAM_BEFORE_COMPONENT = "0a53efeaa12fc512cf089509826df4ce022d0570";
const STACK = `alias-${process.pid}`;
const NAMES = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main");

const gate = new PulumiGate();
let probe: HostService;
let api: FakeMessagesApi;
let tlsApi: FakeMessagesApi;
let workspace: string;
let stack: RealStack | undefined;

/** What identifies the home volume: a replacement would recreate it. */
async function homeIdentity(): Promise<string> {
  return (await docker("volume", "inspect", "-f", "{{.Name}} {{.CreatedAt}}", NAMES.home)).trim();
}

/** The sandbox on the old program's route to the stand-in API, or today's (its credential proxy over TLS). */
const sandboxConfig = (route: "old" | "today") =>
  liveConfig({
    image: REGISTRY_BASE_IMAGES,
    sandboxes: [
      sandboxEntry({
        name: "main",
        workspace,
        probe,
        apiPort: route === "old" ? api.port : tlsApi.port,
        apiThroughEgress: route === "old",
      }),
    ],
    runs: [{ name: "hello", sandbox: "main", prompt: "Say done.", maxTurns: 2 }],
  });

/** What today's program changes in a stack of the old one: everything else must be the same resource. */
const EXPECTED_CHANGES = [
  // The component itself, and what later features added beside the old resources.
  "create agent-sandbox:index:AgentSandboxes::agent-sandbox",
  "create command:local:Command::run-hello-baseline",
  "create command:local:Command::run-hello-changes",
  // The key leaves the sandbox: the credential proxy and its secrets come, the sandbox's credentials go.
  "create agent-sandbox:index:SecretFiles::proxy-secrets",
  "create command:local:Command::main-credential-proxy-start",
  "create command:local:Command::proxy-secrets-write",
  "create docker:index/container:Container::main-credential-proxy",
  "create docker:index/volume:Volume::proxy-secrets",
  "delete agent-sandbox:index:AgentCredentials::credentials",
  "delete command:local:Command::credentials-write",
  "delete docker:index/volume:Volume::credentials",
];

describe("an existing stack under the AgentSandboxes component (live)", () => {
  beforeAll(async () => {
    if (!(await gate.ready()) || !hasRevision(PROGRAM_BEFORE_COMPONENT)) return;
    probe = await startHostService("probe-ok\n");
    // Plain http through the egress proxy: the program of PROGRAM_BEFORE_COMPONENT predates the credential proxy and apiUpstream.
    api = await startFakeMessagesApi({ host: "0.0.0.0", port: 0, script: [{ kind: "text", text: "done" }] });
    tlsApi = await startFakeMessagesApi({ host: "0.0.0.0", port: 0, script: [{ kind: "text", text: "done" }], tls: testTls() });
    workspace = agentWorkspace("agent-sandbox-alias-");
    stack = await RealStack.create(STACK, { revision: PROGRAM_BEFORE_COMPONENT });
    // The old program knows no apiUpstream: its sandbox reaches the stand-in over plain http through the egress proxy.
    stack.setConfig(sandboxConfig("old"));
    await stack.setSecret("anthropicApiKey", "test-key-alias");
  });

  afterAll(async () => {
    await stack?.remove();
    await Promise.all([probe?.close(), api?.close(), tlsApi?.close()]);
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("keeps the home volume and its login, and changes only what taking the key out of the sandbox needs, when today's program takes over the stack", async (context) => {
    gate.requireCli(context);
    if (!stack) context.skip(`the git history lacks ${PROGRAM_BEFORE_COMPONENT}, the program before the component (a shallow clone?)`);
    await stack!.pulumi(["up", "--yes", "--skip-preview"]);
    expect(stack!.stateText()).not.toContain("agent-sandbox:index:AgentSandboxes");
    const home = await homeIdentity();
    // A login the agent keeps in its home (what a replaced home volume would lose).
    await execIn(NAMES.container, "mkdir -p ~/.claude && echo signed-in > ~/.claude/login-marker");
    const oldContainer = (await docker("inspect", "-f", "{{.Id}}", NAMES.container)).trim();

    stack!.useCurrentProgram();
    stack!.setConfig(sandboxConfig("today"));
    const steps = (await stack!.previewSteps()).filter((step) => step.op !== "same");
    const changes = steps.map((step) => `${step.op} ${typeAndName(step.urn)}`);
    // The sandbox container is replaced (its mounts and environment change), with its start command and the run it hosts.
    const replaced = changes.filter((change) => change.startsWith("replace ") || change.startsWith("update ")).sort();
    expect(replaced.filter((change) => /Volume::main-home|Network::main-net\b/.test(change))).toEqual([]);
    expect(changes.filter((change) => !change.startsWith("replace ") && !change.startsWith("update ")).sort()).toEqual([...EXPECTED_CHANGES].sort());
    expect(replaced).toContain("replace docker:index/container:Container::main");
    await stack!.pulumi(["up", "--yes", "--skip-preview"]);
    const after = await stack!.pulumi(["preview", "--expect-no-changes", "--diff"], { allowFailure: true });
    expect(after.code, `${after.stdout}\n${after.stderr}`).toBe(0);

    expect(await homeIdentity()).toBe(home);
    expect((await docker("inspect", "-f", "{{.Id}}", NAMES.container)).trim()).not.toBe(oldContainer);
    expect((await execIn(NAMES.container, "cat ~/.claude/login-marker")).output.trim()).toBe("signed-in");
    expect((await docker("volume", "ls", "-q", "--filter", `name=${PROJECT}-${STACK}-credentials`)).trim()).toBe("");
    // The resources now sit under the component: the aliases were applied, not merely left unused.
    const state = stack!.stateText();
    expect(state).toContain("agent-sandbox:index:AgentSandboxes$agent-sandbox:index:AgentSandbox$docker:index/volume:Volume::main-home");
    expect((await stack!.outputs()).runOutputs.hello).toMatchObject({ success: true, result: "done" });
    expect(tlsApi.credentialProblems("test-key-alias")).toEqual([]);
  });
});
