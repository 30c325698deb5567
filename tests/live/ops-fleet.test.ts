/**
 * `npm run status -- --all` on a real backend: three stacks of one file backend, made with the real Pulumi
 * CLI: one with a sandbox on this machine's engine, one whose sandbox was brought up here and whose
 * docker.host then names a socket where no engine listens (an engine gone away), and one never brought up.
 * The fleet's table and JSON show each with its own engine and state, the exit status says not all is
 * well, and once the second stack's engine is this one again, all is.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxObjectNames } from "../../components/engine/naming";
import { docker, waitHealthy } from "../../testkit/live/engine";
import { agentWorkspace, type HostService, liveConfig, PROJECT, sandboxEntry, startHostService } from "../../testkit/live/live-program";
import { type CliResult, mergeStackConfig, PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";

const DEPLOYED = `fleet-${process.pid}`;
const GONE = `fleet-gone-${process.pid}`;
const EMPTY = `fleet-empty-${process.pid}`;
const gate = new PulumiGate();
let probe: HostService;
let stack: RealStack;
const workspaces: string[] = [];
const made: string[] = [];
let goneConfig: Record<string, unknown>;
let noEngine: string;

const containerOf = (stackName: string) => sandboxObjectNames({ project: PROJECT, stack: stackName }, "main").container;
const stackFile = (name: string) => path.join(stack.programDir, `Pulumi.${name}.yaml`);

/** A sandbox's config; the disk threshold at 100% so the host's own disk, the workspace's, never makes it due. */
function configWith(workspace: string): Record<string, unknown> {
  return liveConfig({ image: REGISTRY_BASE_IMAGES, sandboxes: [sandboxEntry({ name: "main", workspace, probe })], refresh: { maxDiskPercent: 100 } });
}

/** `npm run status -- <args>` as a person runs it in the program's folder, on the stacks' backend. */
function status(args: string[]): Promise<CliResult> {
  const home = path.join(stack.root, "home");
  fs.mkdirSync(home, { recursive: true });
  return stack.run(
    "npm",
    ["run", "--silent", "status", "--", ...args],
    { HOME: home, DOCKER_CONFIG: path.join(os.homedir(), ".docker") },
    { allowFailure: true },
  );
}

async function initStack(name: string): Promise<void> {
  await stack.pulumi(["stack", "init", name, "--secrets-provider", "passphrase"]);
  made.push(name);
}

describe("npm run status -- --all on a backend of several stacks (live)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    probe = await startHostService("probe-ok\n");
    stack = await RealStack.create(DEPLOYED);
    noEngine = `unix://${path.join(stack.root, "no-engine.sock")}`;
    workspaces.push(agentWorkspace("agent-sandbox-fleet-"), agentWorkspace("agent-sandbox-fleet-"));
    stack.setConfig(configWith(workspaces[0]));
    await initStack(GONE);
    goneConfig = configWith(workspaces[1]);
    mergeStackConfig(stackFile(GONE), goneConfig);
    await initStack(EMPTY);
    await stack.pulumi(["up", "--yes", "--skip-preview", "--stack", DEPLOYED]);
    await stack.pulumi(["up", "--yes", "--skip-preview", "--stack", GONE]);
    // status reports the engine's own health, which its first scheduled check sets.
    for (const name of [DEPLOYED, GONE]) await waitHealthy(containerOf(name));
    // Its engine goes away: the stack now names a socket nothing listens on.
    mergeStackConfig(stackFile(GONE), { ...goneConfig, docker: { host: noEngine } });
    await stack.pulumi(["stack", "select", DEPLOYED]);
  }, 900_000);

  afterAll(async () => {
    if (stack) {
      if (made.includes(GONE)) {
        // Its engine back, so destroy reaches its containers.
        mergeStackConfig(stackFile(GONE), goneConfig);
        await stack.pulumi(["destroy", "--yes", "--skip-preview", "--stack", GONE], { allowFailure: true });
      }
      for (const name of made) await stack.pulumi(["stack", "rm", "--yes", "--force", name], { allowFailure: true });
      await stack.pulumi(["stack", "select", DEPLOYED], { allowFailure: true });
      await stack.remove();
      // The images the two ups tagged with their stacks' names (only the tags go when another tag shares the image).
      for (const name of [DEPLOYED, GONE]) {
        const tags = (await docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", `reference=agent-sandbox/*:${name}`))
          .split("\n")
          .filter(Boolean);
        if (tags.length > 0) await docker("rmi", ...tags).catch((error) => console.warn(`[live] could not remove ${tags.join(", ")}: ${error}`));
      }
    }
    await probe?.close();
    for (const workspace of workspaces) fs.rmSync(workspace, { recursive: true, force: true });
  }, 600_000);

  it("prints every stack with its engine and its sandboxes as JSON, the unreachable one's rows saying so; exit 1", async (context) => {
    gate.requireCli(context);
    const result = await status(["--all", "--json"]);
    const raw = `${result.stdout}\n${result.stderr}`;
    expect(result.code, raw).toBe(1);
    const fleet = JSON.parse(result.stdout);
    expect(fleet.healthy, raw).toBe(false);
    expect(fleet.stacks.map((entry: { stack: string }) => entry.stack)).toEqual([DEPLOYED, EMPTY, GONE]);
    const [deployed, empty, gone] = fleet.stacks;
    expect(deployed.engine, raw).toMatchObject({ url: "unix:///var/run/docker.sock", setting: "default", reachable: true });
    expect(deployed.sandboxes, raw).toHaveLength(1);
    expect(deployed.sandboxes[0], raw).toMatchObject({
      name: "main",
      container: containerOf(DEPLOYED),
      state: "running",
      health: "healthy",
      healthy: true,
      refreshDue: false,
      imageCurrent: true,
    });
    expect(empty, raw).toMatchObject({ engine: { reachable: null }, sandboxes: [] });
    expect(gone.engine, raw).toMatchObject({ url: noEngine, setting: "docker.host", reachable: false });
    expect(gone.engine.reason, raw).toBe(`connect ENOENT ${noEngine.slice("unix://".length)}`);
    expect(gone.sandboxes, raw).toEqual([expect.objectContaining({ name: "main", container: containerOf(GONE), state: "engine unreachable", healthy: false })]);
  });

  it("prints one table of them, and under it why the unreachable engine is and how to check it", async (context) => {
    gate.requireCli(context);
    const started = Date.now();
    const result = await status(["--all"]);
    console.log(`[live] npm run status -- --all (${((Date.now() - started) / 1000).toFixed(1)} s):\n${result.stdout}`);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toMatch(/^stack +engine +sandbox +state +isolation +age +cpu +memory +pids +disk +image +denied +risky +refresh$/);
    expect(lines[1]).toMatch(new RegExp(`^${DEPLOYED} +local socket +main +healthy +(container|gvisor) .* current .* no$`));
    expect(lines[2]).toMatch(new RegExp(`^${EMPTY} +local socket +– +no sandboxes( +–)+$`));
    expect(lines[3]).toMatch(new RegExp(`^${GONE} +${noEngine} +main +engine unreachable( +–)+ +0 +–$`));
    expect(result.stdout).toContain(
      `${GONE}: engine unreachable at ${noEngine} (its docker.host): connect ENOENT ${noEngine.slice("unix://".length)}; check it with: DOCKER_HOST='${noEngine}' docker info`,
    );
  });

  it("says an unreachable engine in one line for that stack alone, exit 2", async (context) => {
    gate.requireCli(context);
    const result = await status(["--stack", GONE]);
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stderr.trim()).toBe(
      `status: ${GONE}: engine unreachable at ${noEngine} (its docker.host): connect ENOENT ${noEngine.slice("unix://".length)}; check it with: DOCKER_HOST='${noEngine}' docker info`,
    );
  });

  it("exits 0 once every stack's engine answers and every sandbox is healthy", async (context) => {
    gate.requireCli(context);
    mergeStackConfig(stackFile(GONE), goneConfig);
    const result = await status(["--all", "--json"]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const fleet = JSON.parse(result.stdout);
    expect(fleet.healthy).toBe(true);
    const gone = fleet.stacks.find((entry: { stack: string }) => entry.stack === GONE);
    expect(gone.engine).toMatchObject({ setting: "default", reachable: true });
    expect(gone.sandboxes[0]).toMatchObject({ name: "main", state: "running", healthy: true });
  });
});
