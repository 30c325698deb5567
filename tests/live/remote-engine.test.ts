/**
 * A stack on a remote Docker host: `docker.host: ssh://…` names the second engine that
 * `scripts/setup-engine.sh --remote` runs in a network namespace of its own, reached only through sshd on
 * loopback with a key this suite makes (testkit/live/remote-engine.ts). The real Pulumi CLI and providers
 * build the images, bring the sandbox up there and run the agent (the real Claude Code CLI against the
 * stand-in API); the ops commands work over ssh; destroy leaves nothing of the stack on the remote engine,
 * and nothing of it was ever made on the local one.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABEL_PREFIX, sandboxObjectNames } from "../../components/engine/naming";
import { cpuLimitArgs } from "../../components/hardening/baseline";
import { DEFAULT_CPUS } from "../../components/sandbox/config";
import { docker } from "../../testkit/live/engine";
import { type FakeMessagesApi, type ScriptedTurn, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import { agentWorkspace, type HostService, liveConfig, PROJECT, sandboxEntry, startHostService, testTls } from "../../testkit/live/live-program";
import { type CliResult, PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";
import { REMOTE_HOST, RemoteClient, RemoteEngineGate, remoteDocker, remoteEngine } from "../../testkit/live/remote-engine";
import { WRITTEN_CONTENT, WRITTEN_FILE } from "./support/claude-scenarios";

const STACK = `remote-${process.pid}`;
const NAMES = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main");
const API_KEY = "test-key-remote-engine";
const FINAL_TEXT = `Created ${WRITTEN_FILE} on the remote engine.`;
const SCRIPT: ScriptedTurn[] = [
  { kind: "tool_use", name: "Write", input: { file_path: `/workspace/${WRITTEN_FILE}`, content: WRITTEN_CONTENT }, text: "Writing it." },
  { kind: "text", text: FINAL_TEXT },
];
const gate = new PulumiGate();
const remote = new RemoteEngineGate();
let client: RemoteClient;
let probe: HostService;
let api: FakeMessagesApi;
let workspace: string;
let stack: RealStack;
let localBefore: string;
/** When the suite started (seconds), for the local engine's events since. */
let startedAt: number;

/**
 * The stack's objects on an engine (`run` runs the docker CLI there): labelled with the stack or named after
 * it, and with `images` its images too (which destroy keeps: keepLocally, the next up reuses them).
 */
async function stackObjects(run: (...args: string[]) => Promise<string> | string, images: boolean): Promise<string> {
  const byLabel = ["--filter", `label=${LABEL_PREFIX}.stack=${STACK}`];
  const byName = ["--filter", `name=${STACK}`];
  const lists = await Promise.all([
    run("ps", "-a", ...byLabel, "--format", "container {{.Names}}"),
    run("ps", "-a", ...byName, "--format", "container {{.Names}}"),
    run("network", "ls", ...byLabel, "--format", "network {{.Name}}"),
    run("network", "ls", ...byName, "--format", "network {{.Name}}"),
    run("volume", "ls", ...byLabel, "--format", "volume {{.Name}}"),
    run("volume", "ls", ...byName, "--format", "volume {{.Name}}"),
    images ? run("image", "ls", "--format", "image {{.Repository}}:{{.Tag}}", `*/*:${STACK}*`) : "",
  ]);
  return [...new Set(lists.flatMap((list) => list.split("\n").filter(Boolean)))].sort().join("\n");
}

const remoteObjects = () => stackObjects(remoteDocker, false);
const localObjects = () => stackObjects(docker, true);

/** The stack's config: one sandbox on the remote engine, its stand-in API and probe bridged there. */
function configFor(sandboxWorkspace: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const sandbox = sandboxEntry({ name: "main", workspace: sandboxWorkspace, probe, apiPort: api.port, extra });
  return liveConfig({ image: REGISTRY_BASE_IMAGES, docker: { host: REMOTE_HOST }, sandboxes: [sandbox] });
}

/** Polls the remote engine until the container is healthy or stopped, or a minute passed. */
async function waitRemoteHealthy(name: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const info = await remoteEngine.getContainer(name).inspect();
    if (info.State.Health?.Status === "healthy" || !info.State.Running || Date.now() >= deadline) return info;
    await new Promise((done) => setTimeout(done, 500));
  }
}

/** `npm run <script> -- <args> --stack <stack>` in the stack's copy, with a HOME of its own. */
function npmRun(script: string, args: string[] = []): Promise<CliResult> {
  const home = path.join(stack.root, "home");
  fs.mkdirSync(home, { recursive: true });
  return stack.run("npm", ["run", "--silent", script, "--", ...args, "--stack", STACK], { HOME: home }, { allowFailure: true });
}

describe("a stack on a remote Docker host over ssh (live)", () => {
  beforeAll(async () => {
    if (!(await gate.ready()) || !(await remote.ready())) return;
    client = RemoteClient.create();
    probe = await startHostService("probe-ok\n");
    api = await startFakeMessagesApi({ host: "0.0.0.0", port: 0, tls: testTls(), script: SCRIPT });
    await client.bridgePort(probe.port);
    await client.bridgePort(api.port);
    workspace = agentWorkspace("agent-sandbox-remote-ws-");
    startedAt = Math.floor(Date.now() / 1000);
    localBefore = await localObjects();
    stack = await RealStack.create(STACK, { env: { PATH: client.path } });
    stack.setConfig({ ...configFor(workspace), runs: [{ name: "write-hello", sandbox: "main", prompt: `Create ${WRITTEN_FILE}.`, maxTurns: 5 }] });
    await stack.setSecret("anthropicApiKey", API_KEY);
  });

  afterAll(async () => {
    await stack?.remove();
    if (client) for (const image of (await stackObjects(remoteDocker, true)).split("\n").filter(Boolean)) remoteDocker("rmi", image.split(" ")[1]);
    await Promise.all([probe?.close(), api?.close()]);
    client?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("builds, brings the sandbox up healthy on the remote engine and completes the agent run there", async (context) => {
    gate.requireCli(context);
    remote.requireRemote(context);
    const started = Date.now();
    const up = await stack.pulumi(["up", "--yes", "--skip-preview"]);
    // What cannot be protected is said, not silently left out (docs/engines-and-images.md).
    expect(up.stdout).toContain(`sandbox main: workspace protection cannot run for the remote engine ${REMOTE_HOST}`);
    console.log(`[live] pulumi up on ${REMOTE_HOST}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const [sandbox, proxy] = await Promise.all([waitRemoteHealthy(NAMES.container), waitRemoteHealthy(NAMES.proxyContainer)]);
    expect(`${sandbox.State.Health?.Status} ${proxy.State.Health?.Status}`, JSON.stringify(sandbox.State)).toBe("healthy healthy");
    // The CPU default is the remote engine's word (its NCPU), not this machine's.
    const { NCPU } = await remoteEngine.info();
    expect(sandbox.HostConfig.CpuQuota).toBe(cpuLimitArgs(Math.min(DEFAULT_CPUS, NCPU)).cpuQuota);
    const outputs = await stack.outputs();
    expect(outputs.runOutputs["write-hello"], JSON.stringify(outputs.runOutputs)).toMatchObject({ success: true, result: FINAL_TEXT });
    expect(fs.readFileSync(path.join(workspace, WRITTEN_FILE), "utf8")).toBe(WRITTEN_CONTENT);
    expect(api.requests.some((request) => request.apiKey === API_KEY)).toBe(true);
    expect(await localObjects()).toBe(localBefore);
  });

  it("npm run status reads the sandbox over ssh: healthy, current image, exit 0", async (context) => {
    gate.requireCli(context);
    remote.requireRemote(context);
    const result = await npmRun("status", ["--json"]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(JSON.parse(result.stdout).sandboxes[0]).toMatchObject({ name: "main", state: "running", healthy: true, imageCurrent: true });
  });

  it("pulumi refresh finds no drift, and npm run refresh replaces the container over ssh", async (context) => {
    gate.requireCli(context);
    remote.requireRemote(context);
    const drift = await stack.pulumi(["refresh", "--expect-no-changes", "--yes"], { allowFailure: true });
    expect(drift.code, `${drift.stdout}\n${drift.stderr}`).toBe(0);
    const before = await remoteEngine.getContainer(NAMES.container).inspect();
    const refreshed = await npmRun("refresh", ["main"]);
    expect(refreshed.code, `${refreshed.stdout}\n${refreshed.stderr}`).toBe(0);
    const after = await waitRemoteHealthy(NAMES.container);
    expect(after.Id).not.toBe(before.Id);
    expect(after.State.Health?.Status).toBe("healthy");
  });

  it("npm run logs and npm run shell reach the sandbox over ssh", async (context) => {
    gate.requireCli(context);
    remote.requireRemote(context);
    remoteDocker("exec", NAMES.container, "sh", "-c", "echo remote-logs-marker > /proc/1/fd/1");
    const logs = await npmRun("logs", ["main", "--tail", "5"]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain("remote-logs-marker");
    // docker exec -it wants a terminal, which script(1) gives; the typed commands arrive on its stdin.
    const home = path.join(stack.root, "home");
    const session = await stack.run(
      "script",
      ["-qec", `npm run --silent shell -- main --stack ${STACK}`, "/dev/null"],
      { HOME: home },
      { input: "id -u; pwd; exit\n" },
    );
    expect(session.stdout).toMatch(/1000\s+\/workspace/);
  });

  it("asks the remote engine, not this one, what it offers: gVisor is refused there before anything is declared", async (context) => {
    gate.requireCli(context);
    remote.requireRemote(context);
    // This machine's engine registers runsc (setup-engine.sh); the remote one does not.
    stack.setConfig(configFor(workspace, { isolation: "gvisor" }));
    const preview = await stack.pulumi(["preview"], { allowFailure: true });
    expect(preview.code).not.toBe(0);
    expect(`${preview.stdout}\n${preview.stderr}`).toContain(`runsc", which the engine at ${REMOTE_HOST} does not offer`);
  });

  it("checks the engine's host key: an ssh that has never seen it stops preview before anything is declared", async (context) => {
    gate.requireCli(context);
    remote.requireRemote(context);
    stack.setConfig(configFor(workspace));
    const preview = await stack.run("pulumi", ["preview", "--non-interactive"], { PATH: client.pathWithoutHostKey }, { allowFailure: true });
    const output = `${preview.stdout}\n${preview.stderr}`;
    expect(preview.code, output).not.toBe(0);
    expect(output).toContain(`docker.host: the engine at "${REMOTE_HOST}" does not answer`);
    expect(output).toContain("Host key verification failed");
  });

  it("leaves a workspace missing on the remote host to the engine, which refuses the container naming it", async (context) => {
    gate.requireCli(context);
    remote.requireRemote(context);
    // Not judged here (this machine's filesystem says nothing of the remote one's): the engine's word decides.
    const missing = `${workspace}-not-on-the-remote-host`;
    stack.setConfig(configFor(missing));
    const up = await stack.pulumi(["up", "--yes", "--skip-preview"], { allowFailure: true });
    expect(up.code).not.toBe(0);
    expect(`${up.stdout}\n${up.stderr}`).toContain(`bind source path does not exist: ${missing}`);
  });

  it("destroy leaves nothing of the stack on the remote engine, and the local engine never had any of it", async (context) => {
    gate.requireCli(context);
    remote.requireRemote(context);
    expect(await remoteObjects()).not.toBe("");
    await stack.pulumi(["destroy", "--yes", "--skip-preview"]);
    expect(await remoteObjects()).toBe("");
    expect(await localObjects()).toBe(localBefore);
    // Nor made and removed in between: no event of the local engine since the start names the stack.
    const until = String(Math.ceil(Date.now() / 1000));
    const events = await docker("events", "--since", String(startedAt), "--until", until, "--format", "{{.Type}} {{.Action}} {{json .Actor.Attributes}}");
    expect(events.split("\n").filter((line) => line.includes(STACK))).toEqual([]);
  });
});
