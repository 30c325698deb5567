/**
 * The ops commands on a real stack: the real Pulumi CLI and providers bring up one sandbox whose workspace
 * is a 4 MiB tmpfs (so "fuller than maxDiskPercent" takes a 3.5 MiB file), then `npm run status`, `refresh`,
 * `logs` and `shell` run as a person runs them, in the copy of the checkout with the stack's backend.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxObjectNames } from "../../components/engine/naming";
import { AGENT_GID, AGENT_UID, docker, enginePidsLimitOf, execIn, inspectContainer, waitHealthy } from "../../testkit/live/engine";
import { liveEnginePids } from "../../testkit/live/isolation";
import { type HostService, liveConfig, PROJECT, sandboxEntry, startHostService } from "../../testkit/live/live-program";
import { type CliResult, PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";
import { treeHash } from "../../testkit/live/workspace-files";

const STACK = `ops-${process.pid}`;
const NAMES = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main");
const WORKSPACE_MIB = 4;
const gate = new PulumiGate();
let probe: HostService;
let workspace: string;
let mounted = false;
let stack: RealStack;

/** `npm run <script> -- <args> --stack <stack>`, its own HOME (the backend and passphrase are the stack's), Docker's config the machine's. */
async function npmRun(script: string, args: string[] = []): Promise<CliResult & { seconds: number }> {
  const started = Date.now();
  const home = path.join(stack.root, "home");
  fs.mkdirSync(home, { recursive: true });
  const result = await stack.run(
    "npm",
    ["run", "--silent", script, "--", ...args, "--stack", STACK],
    { HOME: home, DOCKER_CONFIG: path.join(os.homedir(), ".docker") },
    { allowFailure: true },
  );
  return { ...result, seconds: (Date.now() - started) / 1000 };
}

async function statusOf(): Promise<{ code: number; row: Record<string, any>; raw: string }> {
  const result = await npmRun("status", ["--json"]);
  const raw = `${result.stdout}\n${result.stderr}`;
  return { code: result.code, row: JSON.parse(result.stdout).sandboxes[0], raw };
}

describe("status, refresh and the person commands on a real stack (live)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-ops-ws-"));
    // A small filesystem of its own, so filling it past the threshold takes megabytes, not the host's disk.
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${WORKSPACE_MIB}m,mode=0755,uid=${AGENT_UID},gid=${AGENT_GID}`, "tmpfs", workspace], {
      encoding: "utf8",
    });
    if (mount.status !== 0) throw new Error(`a ${WORKSPACE_MIB} MiB tmpfs workspace needs root (mount -t tmpfs): ${mount.stderr}`);
    mounted = true;
    fs.writeFileSync(path.join(workspace, "README.md"), "the developer's code\n");
    probe = await startHostService("probe-ok\n");
    stack = await RealStack.create(STACK);
    stack.setConfig(
      liveConfig({ image: REGISTRY_BASE_IMAGES, sandboxes: [sandboxEntry({ name: "main", workspace, probe })], refresh: { maxDiskPercent: 80 } }),
    );
    await stack.pulumi(["up", "--yes", "--skip-preview"]);
    // status reports the engine's own health, which its first scheduled check sets an interval after the start.
    await waitHealthy(NAMES.container);
  });

  afterAll(async () => {
    await stack?.remove();
    await probe?.close();
    if (mounted) spawnSync("umount", [workspace]);
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("reports a fresh sandbox healthy, on the stack's image, not due, with its limits and refused requests; exit 0", async (context) => {
    gate.requireCli(context);
    const refused = await execIn(NAMES.container, "curl -sS -o /dev/null -w '%{http_code}' http://blocked.example.com/");
    expect(refused.output).toContain("403");
    const { code, row, raw } = await statusOf();
    expect(code, raw).toBe(0);
    expect(row, raw).toMatchObject({
      name: "main",
      state: "running",
      health: "healthy",
      healthy: true,
      imageCurrent: true,
      refreshDue: false,
      pidsLimit: 1024,
    });
    expect(row.healthOutput, raw).toMatch(/^healthy: claude/);
    expect(row.memoryLimitBytes, raw).toBe(8 * 1024 ** 3);
    expect(row.memoryBytes, raw).toBeGreaterThan(0);
    expect(row.pids, raw).toBeGreaterThan(0);
    expect(row.workspaceDiskPercent, raw).toBeLessThan(80);
    // The curl above, and not the healthcheck's own denied probe every 2 s.
    expect(row.deniedEgress, raw).toBe(1);
  });

  it("sees due: disk once the workspace is fuller than maxDiskPercent, and exits 1", async (context) => {
    gate.requireCli(context);
    const fill = path.join(workspace, "fill.bin");
    fs.writeFileSync(fill, Buffer.alloc(Math.round(3.5 * 1024 ** 2), 7));
    fs.chownSync(fill, AGENT_UID, AGENT_GID);
    const table = await npmRun("status");
    console.log(`[live] npm run status (${table.seconds.toFixed(1)} s):\n${table.stdout}`);
    expect(table.code, table.stdout + table.stderr).toBe(1);
    expect(table.stdout).toMatch(/^main .* due: disk$/m);
    expect(table.stdout).toMatch(/main: refresh due \(disk\): workspace disk (8\d|9[0-4])% full, limit 80%; npm run refresh -- main/);
    const { row } = await statusOf();
    expect(row.refreshReasons.map((reason: { kind: string }) => reason.kind)).toEqual(["disk"]);
  });

  it("refresh --due replaces the container and its start, keeps the home volume, and leaves the workspace byte-identical", async (context) => {
    gate.requireCli(context);
    expect((await execIn(NAMES.container, "echo logged-in > /home/agent/.login-marker")).exitCode).toBe(0);
    const before = {
      container: await inspectContainer(NAMES.container),
      volume: JSON.parse(await docker("volume", "inspect", NAMES.home))[0],
      tree: treeHash(workspace),
    };
    const refreshed = await npmRun("refresh", ["--due"]);
    console.log(`[live] npm run refresh -- --due (${refreshed.seconds.toFixed(1)} s):\n${refreshed.stdout}`);
    expect(refreshed.code, `${refreshed.stdout}\n${refreshed.stderr}`).toBe(0);
    expect(refreshed.stdout).toMatch(/replaced main: container \w{12} → \w{12} \(workspace disk \d+% full, limit 80%\); home volume .*-main-home kept/);
    expect(refreshed.stdout).toContain("main: its workspace is as full as before (refresh never touches your code); free space there");

    const after = await waitHealthy(NAMES.container);
    expect(after.Id).not.toBe(before.container.Id);
    expect(after.State.Health?.Status).toBe("healthy");
    expect(await enginePidsLimitOf(after)).toBe(liveEnginePids(1024));
    expect(JSON.parse(await docker("volume", "inspect", NAMES.home))[0].CreatedAt).toBe(before.volume.CreatedAt);
    expect((await execIn(NAMES.container, "cat /home/agent/.login-marker")).output.trim()).toBe("logged-in");
    expect(treeHash(workspace)).toBe(before.tree);
    // Only those two were replaced: the stack still matches the program.
    const preview = await stack.pulumi(["preview", "--expect-no-changes"], { allowFailure: true });
    expect(preview.code, `${preview.stdout}\n${preview.stderr}`).toBe(0);
  });

  it("prints the sandbox's logs with npm run logs", async (context) => {
    gate.requireCli(context);
    expect((await execIn(NAMES.container, "echo ops-logs-marker > /proc/1/fd/1")).exitCode).toBe(0);
    const logs = await npmRun("logs", ["main", "--tail", "5"]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain("ops-logs-marker");
  });

  it("opens a shell as the agent user in /workspace with npm run shell", async (context) => {
    gate.requireCli(context);
    // docker exec -it wants a terminal, which script(1) gives; the typed commands arrive on its stdin.
    const home = path.join(stack.root, "home");
    const line = `npm run --silent shell -- main --stack ${STACK}`;
    const session = await stack.run("script", ["-qec", line, "/dev/null"], { HOME: home }, { input: "id -u; pwd; exit\n" });
    expect(session.stdout).toMatch(/1000\s+\/workspace/);
  });

  it("names the sandboxes the stack has when asked for another", async (context) => {
    gate.requireCli(context);
    const logs = await npmRun("logs", ["nope"]);
    expect(logs.code).toBe(2);
    expect(logs.stderr).toContain(
      `logs: stack ${STACK} has no sandbox nope (it has: main); add it to Pulumi.${STACK}.yaml and AGENT_SANDBOX_STACK=${STACK} npm run up`,
    );
  });

  it("says a stopped sandbox is not running and how to fix it, and the fix works", async (context) => {
    gate.requireCli(context);
    await docker("stop", "-t", "1", NAMES.container);
    for (const verb of ["shell", "agent"]) {
      const refused = await npmRun(verb, ["main"]);
      expect(refused.code, verb).toBe(2);
      expect(refused.stderr.trim()).toBe(
        `${verb}: sandbox main of stack ${STACK} is not running (exited): npm run refresh -- main --stack ${STACK} starts a new one (home volume and workspace kept)`,
      );
    }
    const status = await statusOf();
    expect(status.code).toBe(1);
    expect(status.row).toMatchObject({ state: "exited", healthy: false });

    const refreshed = await npmRun("refresh", ["main"]);
    expect(refreshed.code, `${refreshed.stdout}\n${refreshed.stderr}`).toBe(0);
    expect(refreshed.stdout).toContain("(asked for by name)");
    expect((await waitHealthy(NAMES.container)).State.Health?.Status).toBe("healthy");
  });

  it("says a removed sandbox has no container, and refresh by name makes a new one", async (context) => {
    gate.requireCli(context);
    await docker("rm", "-f", NAMES.container);
    const refused = await npmRun("logs", ["main"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`logs: sandbox main of stack ${STACK} has no container on the engine: npm run refresh -- main --stack ${STACK}`);
    const refreshed = await npmRun("refresh", ["main"]);
    expect(refreshed.code, `${refreshed.stdout}\n${refreshed.stderr}`).toBe(0);
    expect(refreshed.stdout).toMatch(/replaced main: container \(none\) → \w{12}/);
    expect((await waitHealthy(NAMES.container)).State.Health?.Status).toBe("healthy");
  });
});
