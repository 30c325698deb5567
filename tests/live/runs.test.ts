/**
 * Ephemeral runs and session chains on the real engine: the real Pulumi CLI and providers run a copy of the
 * program with three runs of one sandbox. `plan` runs in a container of its own and keeps the last one;
 * `follow` resumes plan's session in the sandbox; `branch` forks it in an ephemeral container that keeps
 * none. Checked: the run container is the sandbox's spec field by field, the resumed runs see plan's
 * conversation, a re-run of plan re-runs both, keepFinished prunes oldest first, and destroy leaves nothing.
 */

import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABEL_PREFIX, sandboxObjectNames } from "../../components/engine/naming";
import { pidsLimitFromEnvironment } from "../../components/hardening/container-start";
import { RUN_LABEL } from "../../components/runs/run-script";
import { AGENT_GID, AGENT_UID, docker, inspectContainer } from "../../testkit/live/engine";
import { type FakeMessagesApi, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import { liveEnginePids } from "../../testkit/live/isolation";
import { onPodman } from "../../testkit/live/live-engine";
import { agentWorkspace, type HostService, liveConfig, PROJECT, sandboxEntry, startHostService, testTls } from "../../testkit/live/live-program";
import { PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";

const STACK = `runs-${process.pid}`;
const NAMES = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main");
const SECRET_WORD = "PELICAN-7";
const PLAN_PROMPT = `Remember the word ${SECRET_WORD}. Reply with OK.`;
const FOLLOW_PROMPT = "Which word did I ask you to remember?";
const BRANCH_PROMPT = "Spell the word backwards.";

const gate = new PulumiGate();
let probe: HostService;
let api: FakeMessagesApi;
let workspace: string;
let stack: RealStack;

function configFor(planTrigger: string, followTriggers: string[] = []): Record<string, unknown> {
  return liveConfig({
    image: REGISTRY_BASE_IMAGES,
    sandboxes: [
      sandboxEntry({
        name: "main",
        workspace,
        probe,
        apiPort: api.port,
        extra: { resources: { pids: 300 } },
      }),
    ],
    runs: [
      { name: "plan", sandbox: "main", prompt: PLAN_PROMPT, maxTurns: 2, ephemeral: true, keepFinished: 1, triggers: [planTrigger] },
      { name: "follow", sandbox: "main", prompt: FOLLOW_PROMPT, maxTurns: 2, resume: "plan", triggers: followTriggers },
      { name: "branch", sandbox: "main", prompt: BRANCH_PROMPT, maxTurns: 2, resume: "plan", fork: true, ephemeral: true },
    ],
  });
}

/** Containers (names, newest first) of one run of this stack. */
async function runContainers(run: string): Promise<string[]> {
  const list = await docker("ps", "-a", "--format", "{{.Names}}", "--filter", `label=${LABEL_PREFIX}.stack=${STACK}`, "--filter", `label=${RUN_LABEL}=${run}`);
  return list.split("\n").filter(Boolean);
}

/** The text of every user message of a Messages API request body. */
function userTexts(body: unknown): string[] {
  const messages = ((body as { messages?: { role: string; content: unknown }[] })?.messages ?? []).filter((message) => message.role === "user");
  return messages.map((message) => (typeof message.content === "string" ? message.content : JSON.stringify(message.content)));
}

/** Main-loop requests whose last user message holds `prompt`. */
const requestsFor = (prompt: string) => api.requests.filter((request) => request.scriptIndex !== undefined && userTexts(request.body).at(-1)?.includes(prompt));

interface StoredCommand {
  readonly create: string;
  readonly environment: Record<string, string>;
  readonly stdin: string;
}

/** The very command the provider runs for a run, from the stack's state. */
async function storedCommand(run: string): Promise<StoredCommand> {
  const state = JSON.parse((await stack.pulumi(["stack", "export", "--show-secrets"])).stdout) as {
    deployment: { resources: { urn: string; inputs: StoredCommand }[] };
  };
  return state.deployment.resources.find((resource) => resource.urn.endsWith(`command:local:Command::run-${run}`))!.inputs;
}

/** Starts a run's command as the provider would: sh -c, its environment, the prompt on stdin. */
function startCommand(command: StoredCommand) {
  const child = spawn("/bin/sh", ["-c", command.create], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...command.environment } });
  child.stdin.end(command.stdin);
  const output = { stderr: "" };
  child.stderr.on("data", (chunk: Buffer) => (output.stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, exited, output };
}

async function timedUp(): Promise<number> {
  const started = Date.now();
  await stack.pulumi(["up", "--yes", "--skip-preview"]);
  return Date.now() - started;
}

describe("ephemeral runs and session chains (live, real Pulumi CLI)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    probe = await startHostService("probe-ok\n");
    api = await startFakeMessagesApi({
      host: "0.0.0.0",
      port: 0,
      tls: testTls(),
      script: Array.from({ length: 16 }, (_, index) => ({ kind: "text", text: `Answer ${index}.` })),
    });
    workspace = agentWorkspace("agent-sandbox-runs-");
    // A git repository, so the sandbox mounts its protected paths (.git/hooks, .git/config) read-only over it.
    execFileSync("git", ["-C", workspace, "init", "-q"]);
    execFileSync("chown", ["-R", `${AGENT_UID}:${AGENT_GID}`, workspace]);
    stack = await RealStack.create(STACK);
    stack.setConfig(configFor("one"));
    await stack.setSecret("anthropicApiKey", `test-key-${process.pid}`);
  });

  afterAll(async () => {
    await stack?.remove();
    await Promise.all([probe?.close(), api?.close()]);
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("runs all three, keeps plan's container and none of branch's, and reports each session id", async (context) => {
    gate.requireCli(context);
    const ms = await timedUp();
    console.log(`[runs] first up (sandbox, proxy, 3 runs, 2 ephemeral): ${ms} ms`);
    const { runOutputs } = await stack.outputs();
    for (const run of ["plan", "follow", "branch"]) expect(runOutputs[run], JSON.stringify(runOutputs)).toMatchObject({ success: true });
    expect(runOutputs.plan.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await runContainers("plan")).toHaveLength(1);
    expect(await runContainers("branch")).toEqual([]);
    console.log(`[runs] session ids: plan ${runOutputs.plan.sessionId}, follow ${runOutputs.follow.sessionId}, branch ${runOutputs.branch.sessionId}`);
    expect(runOutputs.follow.sessionId, "the CLI continues the very session it resumes").toBe(runOutputs.plan.sessionId);
    expect(runOutputs.branch.sessionId, "a fork starts a session of its own").not.toBe(runOutputs.plan.sessionId);
  });

  it("makes the run container from the sandbox's spec: every hardening field matches the sandbox's", async (context) => {
    gate.requireCli(context);
    const [kept] = await runContainers("plan");
    const [sandbox, run] = await Promise.all([inspectContainer(NAMES.container), inspectContainer(kept)]);
    const hardening = (info: typeof sandbox) => ({
      CapDrop: info.HostConfig.CapDrop,
      CapAdd: info.HostConfig.CapAdd,
      SecurityOpt: info.HostConfig.SecurityOpt,
      ReadonlyRootfs: info.HostConfig.ReadonlyRootfs,
      User: info.Config.User,
      Memory: info.HostConfig.Memory,
      MemorySwap: info.HostConfig.MemorySwap,
      CpuQuota: info.HostConfig.CpuQuota,
      CpuPeriod: info.HostConfig.CpuPeriod,
      // On Podman the limit travels in the environment, for the host's hook (container-start.ts).
      PidsLimit: pidsLimitFromEnvironment(info.Config.Env ?? []) ?? info.HostConfig.PidsLimit,
      // A run's agent is kept from the host's kernel as its sandbox's is (runsc under isolation gvisor).
      Runtime: info.HostConfig.Runtime,
      Ulimits: info.HostConfig.Ulimits,
      Networks: Object.keys(info.NetworkSettings.Networks).sort(),
      // The provider hands the engine its mounts in its own (set) order; the order means nothing, the targets differ.
      // The mounts as the container has them (Podman leaves HostConfig.Mounts empty; both engines fill Mounts).
      Mounts: info.Mounts.map((mount) => ({ Target: mount.Destination, Source: mount.Source, ReadOnly: !mount.RW })).sort((a, b) =>
        a.Target.localeCompare(b.Target),
      ),
      Init: info.HostConfig.Init,
      Privileged: info.HostConfig.Privileged,
      IpcMode: info.HostConfig.IpcMode,
      PidMode: info.HostConfig.PidMode,
      Image: info.Image,
      Env: [...(info.Config.Env ?? [])].sort(),
    });
    expect(hardening(run)).toEqual(hardening(sandbox));
    expect(hardening(run).PidsLimit).toBe(liveEnginePids(300));
    expect(hardening(run).Mounts).toContainEqual(expect.objectContaining({ Target: "/workspace/.git/hooks", ReadOnly: true }));
    expect(hardening(sandbox).Networks).toEqual([NAMES.network]);
    // The provider creates on the default bridge and then moves the container to its network (NetworkMode stays
    // "bridge"); the run container joins the network directly. Either way it is on that one network alone
    // (Networks above). Podman records "bridge" for both.
    const runMode = onPodman ? "bridge" : NAMES.network;
    expect({ sandbox: sandbox.HostConfig.NetworkMode, run: run.HostConfig.NetworkMode }).toEqual({ sandbox: "bridge", run: runMode });
    expect(run.HostConfig.RestartPolicy?.Name).toBe("no");
    expect(run.State.Running, "a kept container is stopped").toBe(false);
  });

  it("continues plan's session in follow and branch: both see plan's conversation", async (context) => {
    gate.requireCli(context);
    for (const prompt of [FOLLOW_PROMPT, BRANCH_PROMPT]) {
      const [request] = requestsFor(prompt);
      expect(request, `no request carried ${prompt}`).toBeDefined();
      expect(userTexts(request.body).join("\n"), "the resumed run's request lacks plan's prompt").toContain(SECRET_WORD);
    }
    const [branch] = requestsFor(BRANCH_PROMPT);
    expect(userTexts(branch.body).join("\n"), "the fork ran after follow had appended to plan's session").not.toContain(FOLLOW_PROMPT);
    const [plan] = requestsFor(PLAN_PROMPT);
    expect(userTexts(plan.body)).toHaveLength(1);
  });

  it("removes the run's container when its run is interrupted", async (context) => {
    gate.requireCli(context);
    const { child, exited, output } = startCommand(await storedCommand("branch"));
    const started = Date.now();
    while ((await runContainers("branch")).length === 0) {
      if (Date.now() - started > 30_000) throw new Error(`no run container appeared: ${output.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const interrupted = Date.now();
    child.kill("SIGTERM");
    expect(await exited, output.stderr).toBe(143);
    console.log(`[runs] interrupted run: container gone ${Date.now() - interrupted} ms after SIGTERM`);
    expect(await runContainers("branch")).toEqual([]);
  });

  it("re-runs follow and branch when plan re-runs, and keeps only plan's newest container", async (context) => {
    gate.requireCli(context);
    const before = await stack.outputs();
    const [firstKept] = await runContainers("plan");
    stack.setConfig(configFor("two"));
    const ms = await timedUp();
    console.log(`[runs] up re-running the chain (plan, then follow and branch): ${ms} ms`);
    const after = (await stack.outputs()).runOutputs;
    expect(after.plan.sessionId).not.toBe(before.runOutputs.plan.sessionId);
    expect(requestsFor(FOLLOW_PROMPT)).toHaveLength(2);
    expect(requestsFor(BRANCH_PROMPT)).toHaveLength(2);
    const [latestFollow] = requestsFor(FOLLOW_PROMPT).slice(-1);
    expect(JSON.stringify(latestFollow.body)).toContain("Answer");
    const kept = await runContainers("plan");
    expect(kept).toHaveLength(1);
    expect(kept[0]).not.toBe(firstKept);
    expect(await runContainers("branch")).toEqual([]);
    const noChange = await stack.pulumi(["preview", "--expect-no-changes"], { allowFailure: true });
    expect(noChange.code, `${noChange.stdout}\n${noChange.stderr}`).toBe(0);
  });

  it("measures what a container of its own adds to a run: the same resumed run, in the sandbox and ephemeral", async (context) => {
    gate.requireCli(context);
    const timed = async (run: string) => {
      const started = Date.now();
      const { exited, output } = startCommand(await storedCommand(run));
      expect(await exited, output.stderr).toBe(0);
      return Date.now() - started;
    };
    const inSandbox = await timed("follow");
    const ephemeral = await timed("branch");
    console.log(`[runs] resumed run: docker exec in the sandbox ${inSandbox} ms, ephemeral container ${ephemeral} ms (+${ephemeral - inSandbox} ms)`);
    expect(await runContainers("branch")).toEqual([]);
  });

  it("keeps sessions across a replacement of the sandbox container: they live in its home volume", async (context) => {
    gate.requireCli(context);
    const before = await inspectContainer(NAMES.container);
    const { runOutputs } = await stack.outputs();
    const state = JSON.parse((await stack.pulumi(["stack", "export"])).stdout) as { deployment: { resources: { urn: string }[] } };
    const sandboxUrn = state.deployment.resources.map((resource) => resource.urn).find((urn) => urn.endsWith("docker:index/container:Container::main"))!;
    // A new container, the same spec: plan does not re-run, follow (a changed trigger) resumes plan's earlier session.
    stack.setConfig(configFor("two", ["after-replacement"]));
    await stack.pulumi(["up", "--yes", "--skip-preview", "--replace", sandboxUrn]);
    const after = (await stack.outputs()).runOutputs;
    expect((await inspectContainer(NAMES.container)).Id).not.toBe(before.Id);
    expect(after.plan.sessionId, "plan re-ran").toBe(runOutputs.plan.sessionId);
    expect(after.follow).toMatchObject({ success: true, sessionId: runOutputs.plan.sessionId });
    const latest = requestsFor(FOLLOW_PROMPT).at(-1)!;
    expect(userTexts(latest.body).join("\n"), "the resumed session lost plan's conversation").toContain(SECRET_WORD);
  });

  it("removes the kept run containers on destroy", async (context) => {
    gate.requireCli(context);
    await stack.pulumi(["destroy", "--yes", "--skip-preview"]);
    expect(await runContainers("plan")).toEqual([]);
    const left = await docker("ps", "-aq", "--filter", `label=${LABEL_PREFIX}.stack=${STACK}`);
    expect(left.trim()).toBe("");
  });
});
