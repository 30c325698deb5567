/**
 * A sandbox with isolation: gvisor, made by the real `pulumi up` (issue #21, part 4 on the program's own
 * sandbox): the engine records runsc for the sandbox and the default runtime for its proxies, the agent sees
 * gVisor's kernel and not the host's, and it still reaches its API only through its credential proxy (found
 * by the fixed address its hosts entries give, since gVisor cannot reach Docker's DNS): the real Claude Code
 * CLI writes a file in the workspace against the stand-in API, the egress proxy refuses what is not allowed,
 * the policy pack's kernel-isolation rule accepts it and refuses it back on runc, and destroy leaves nothing.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABEL_PREFIX, sandboxObjectNames } from "../../components/engine/naming";
import { gvisorNetworkPlan } from "../../components/sandbox/gvisor-network";
import { docker, waitHealthy } from "../../testkit/live/engine";
import { type FakeMessagesApi, type ScriptedTurn, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import { agentWorkspace, execIn, type HostService, liveConfig, PROJECT, sandboxEntry, startHostService, testTls } from "../../testkit/live/live-program";
import { POLICY_PACK, PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";
import { GvisorGate } from "../../testkit/live/runtime-gate";
import { WRITTEN_CONTENT, WRITTEN_FILE } from "./support/claude-scenarios";

const STACK = `gvisor-${process.pid}`;
const API_KEY = `test-key-${randomBytes(12).toString("hex")}`;
const FINAL_TEXT = `Created ${WRITTEN_FILE} under gVisor.`;
const SCRIPT: ScriptedTurn[] = [
  { kind: "tool_use", name: "Write", input: { file_path: `/workspace/${WRITTEN_FILE}`, content: WRITTEN_CONTENT }, text: `I'll create ${WRITTEN_FILE}.` },
  { kind: "text", text: FINAL_TEXT },
];
const NAMES = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main");

const gate = new PulumiGate();
const gvisor = new GvisorGate();
let probe: HostService;
let api: FakeMessagesApi;
let workspace: string;
let stack: RealStack;

const configFor = (isolation: "gvisor" | "container") =>
  liveConfig({
    image: REGISTRY_BASE_IMAGES,
    sandboxes: [sandboxEntry({ name: "main", workspace, probe, apiPort: api.port, extra: { isolation } })],
    runs: [{ name: "write-hello", sandbox: "main", prompt: `Create ${WRITTEN_FILE} saying hello.`, maxTurns: 5 }],
  });

describe("a gVisor sandbox made by the real pulumi up (live)", () => {
  beforeAll(async () => {
    if (!(await gate.ready()) || !(await gvisor.ready())) return;
    probe = await startHostService("probe-ok\n");
    api = await startFakeMessagesApi({ host: "0.0.0.0", port: 0, tls: testTls(), script: SCRIPT });
    workspace = agentWorkspace("agent-sandbox-gvisor-");
    stack = await RealStack.create(STACK);
    stack.setConfig(configFor("gvisor"));
    await stack.setSecret("anthropicApiKey", API_KEY);
  });

  afterAll(async () => {
    await stack?.remove();
    await Promise.all([probe?.close(), api?.close()]);
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("runs the sandbox on runsc and its proxies on the default runtime, all healthy, the proxies at their planned addresses", async (context) => {
    gate.requireCli(context);
    gvisor.requireGvisor(context);
    await stack.pulumi(["up", "--yes", "--skip-preview"]);
    const [sandbox, egress, credentials] = await Promise.all([NAMES.container, NAMES.proxyContainer, NAMES.credentialProxy].map((name) => waitHealthy(name)));
    expect([sandbox, egress, credentials].map((info) => info.State.Health?.Status)).toEqual(["healthy", "healthy", "healthy"]);
    expect(sandbox.HostConfig.Runtime).toBe("runsc");
    expect([egress.HostConfig.Runtime, credentials.HostConfig.Runtime]).toEqual(["runc", "runc"]);
    const plan = gvisorNetworkPlan(NAMES.network);
    expect(egress.NetworkSettings.Networks[NAMES.network].IPAddress).toBe(plan.egressProxyAddress);
    expect(credentials.NetworkSettings.Networks[NAMES.network].IPAddress).toBe(plan.credentialProxyAddress);
  });

  it("shows the agent gVisor's kernel, not the host's", async (context) => {
    gate.requireCli(context);
    gvisor.requireGvisor(context);
    const inside = await execIn(NAMES.container, "cat /proc/version; uname -r");
    const hostVersion = fs.readFileSync("/proc/version", "utf8").trim();
    expect(inside.exitCode, inside.output).toBe(0);
    expect(inside.output).not.toContain(hostVersion);
    expect(inside.output.split("\n")[1]?.trim()).not.toBe(fs.readFileSync("/proc/sys/kernel/osrelease", "utf8").trim());
  });

  it("completes an agent run through its credential proxy, the key added outside, and its egress proxy still refuses the rest", async (context) => {
    gate.requireCli(context);
    gvisor.requireGvisor(context);
    const outputs = await stack.outputs();
    expect(outputs.runOutputs["write-hello"], JSON.stringify(outputs.runOutputs)).toMatchObject({ success: true, result: FINAL_TEXT });
    expect(fs.readFileSync(path.join(workspace, WRITTEN_FILE), "utf8")).toBe(WRITTEN_CONTENT);
    expect(api.credentialProblems(API_KEY)).toEqual([]);
    const refused = await execIn(NAMES.container, "curl -sS -o /dev/null -w '%{http_code}' --max-time 10 http://example.com/ || true");
    expect(refused.output).toMatch(/403/);
    const env = await execIn(NAMES.container, "cat /proc/self/environ | tr '\\0' '\\n'");
    expect(env.output).not.toContain(API_KEY);
  });

  it("passes the policy pack when kernel-isolation names its stack, and is refused there once the sandbox leaves gVisor", async (context) => {
    gate.requireCli(context);
    gvisor.requireGvisor(context);
    const policyConfig = path.join(workspace, "..", `kernel-isolation-${STACK}.json`);
    fs.writeFileSync(policyConfig, JSON.stringify({ "kernel-isolation": { stacks: [STACK] } }));
    try {
      const passed = await stack.pulumi(["preview", "--policy-pack", POLICY_PACK, "--policy-pack-config", policyConfig], { allowFailure: true });
      expect(passed.code, `${passed.stdout}\n${passed.stderr}`).toBe(0);
      stack.setConfig(configFor("container"));
      const refused = await stack.pulumi(["preview", "--policy-pack", POLICY_PACK, "--policy-pack-config", policyConfig], { allowFailure: true });
      const output = `${refused.stdout}\n${refused.stderr}`;
      expect(refused.code, output).not.toBe(0);
      expect(output).toMatch(/kernel-isolation/);
      expect(output).toContain(`stack "${STACK}" must run its sandboxes under gVisor`);
    } finally {
      stack.setConfig(configFor("gvisor"));
      fs.rmSync(policyConfig, { force: true });
    }
  });

  it("leaves nothing on the engine after destroy", async (context) => {
    gate.requireCli(context);
    gvisor.requireGvisor(context);
    await stack.pulumi(["destroy", "--yes", "--skip-preview"]);
    const filter = ["--filter", `label=${LABEL_PREFIX}.stack=${STACK}`];
    const left = await Promise.all([docker("ps", "-aq", ...filter), docker("network", "ls", "-q", ...filter), docker("volume", "ls", "-q", ...filter)]);
    expect(left.join("").trim()).toBe("");
  });
});
