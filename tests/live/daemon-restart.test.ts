/**
 * Faults survived: the Docker daemon restarts under a deployed stack (the real Pulumi CLI's). The sandbox and
 * its egress proxy come back healthy by their restart policy alone, with their pids limits in their cgroups,
 * the egress policy (a denied request still denied, an allowed one allowed) and the home volume's contents,
 * and the stack shows no changes afterwards.
 *
 * It restarts the engine every suite on this machine shares, so it runs only when asked:
 * AGENT_SANDBOX_LIVE_RESTART_DOCKERD=1, as root, with a dockerd that scripts/setup-engine.sh started (its
 * --restart-dockerd restarts it as `systemctl restart docker` would).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { TestContext } from "vitest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROXY_PIDS } from "../../components/egress/egress-proxy";
import { sandboxObjectNames } from "../../components/engine/naming";
import { AGENT_HOME } from "../../components/sandbox/contract";
import { execIn, inspectContainer, waitHealthy } from "../../testkit/live/engine";
import { liveEnginePids } from "../../testkit/live/isolation";
import { agentWorkspace, type HostService, liveConfig, PROJECT, sandboxEntry, startHostService } from "../../testkit/live/live-program";
import { PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";
import { readContainerCgroup } from "./support/cgroup";

const OPT_IN = "AGENT_SANDBOX_LIVE_RESTART_DOCKERD";
const STACK = `faults-restart-${process.pid}`;
const NAMES = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main");
const SANDBOX_PIDS = 1024;
const MARKER = `kept-${randomBytes(6).toString("hex")}`;
const SETUP_ENGINE = path.resolve(__dirname, "../../scripts/setup-engine.sh");

const gate = new PulumiGate();
let optedIn = false;
let probe: HostService;
let workspace: string;
let stack: RealStack;

function requireOptIn(context: TestContext): void {
  gate.requireCli(context);
  if (!optedIn) context.skip(`restarts the Docker daemon every live suite on this machine shares; run it with ${OPT_IN}=1 as root`);
}

/** What the promises rest on, read from the engine and from inside the sandbox. */
async function evidence() {
  const [sandbox, proxy] = await Promise.all([inspectContainer(NAMES.container), inspectContainer(NAMES.proxyContainer)]);
  const allowed = await execIn(NAMES.container, `curl -sS --max-time 10 ${probe.sandboxUrl}`);
  const denied = await execIn(NAMES.container, "curl -s -o /dev/null -w '%{http_code}' --max-time 10 http://not-on-the-allowlist.invalid/");
  const direct = await execIn(NAMES.container, `curl -sS --noproxy '*' --max-time 5 ${probe.sandboxUrl}`);
  const home = await execIn(NAMES.container, `cat ${AGENT_HOME}/.faults-marker`);
  return {
    health: `${sandbox.State.Health?.Status} / ${proxy.State.Health?.Status}`,
    startedAt: [sandbox.State.StartedAt, proxy.State.StartedAt],
    pidsLimits: [sandbox.HostConfig.PidsLimit, proxy.HostConfig.PidsLimit],
    cgroupPidsMax: [readContainerCgroup(sandbox.State.Pid, "pidsMax"), readContainerCgroup(proxy.State.Pid, "pidsMax")],
    allowed: allowed.output.trim(),
    denied: denied.output.trim(),
    directFails: direct.exitCode !== 0,
    home: home.output.trim(),
  };
}

/** The errors of a connection to an engine that is still coming back (a kept-alive socket it closed, a socket not yet listening). */
const ENGINE_COMING_BACK = new Set(["EPIPE", "ECONNRESET", "ECONNREFUSED", "ENOENT"]);

/**
 * Polls until the container is healthy or 3 minutes passed, and returns its last inspection. Unlike
 * waitHealthy it waits through "stopped" (the engine may answer before it has restarted every container)
 * and through the connection errors of an engine still restarting.
 */
async function healthyAgain(name: string): Promise<Awaited<ReturnType<typeof inspectContainer>>> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      const info = await inspectContainer(name);
      if (info.State.Health?.Status === "healthy" || Date.now() >= deadline) return info;
    } catch (error) {
      if (!ENGINE_COMING_BACK.has((error as NodeJS.ErrnoException).code ?? "") || Date.now() >= deadline) throw error;
    }
    await new Promise((done) => setTimeout(done, 500));
  }
}

const elapsed = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)}s`;

describe("faults survived: the Docker daemon restarts (live, real CLI)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    optedIn = process.env[OPT_IN] === "1";
    if (!optedIn) return;
    probe = await startHostService("probe-ok\n");
    workspace = agentWorkspace("agent-sandbox-faults-restart-");
    stack = await RealStack.create(STACK);
    stack.setConfig(liveConfig({ image: REGISTRY_BASE_IMAGES, sandboxes: [sandboxEntry({ name: "main", workspace, probe })] }));
    await stack.pulumi(["up", "--yes", "--skip-preview"]);
    // The start calls them ready at their own check; the evidence compares the engine's health, set by its first scheduled check.
    await Promise.all([waitHealthy(NAMES.container), waitHealthy(NAMES.proxyContainer)]);
  });

  afterAll(async () => {
    await stack?.remove();
    await probe?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("brings the sandbox and its proxy back healthy with their limits, egress policy and home, and no changes to deploy", async (context) => {
    requireOptIn(context);
    expect((await execIn(NAMES.container, `echo ${MARKER} > ${AGENT_HOME}/.faults-marker`)).exitCode).toBe(0);
    const before = await evidence();
    const expected = {
      health: "healthy / healthy",
      // The program's engine limit for the sandbox's isolation (runsc's own tasks count under gVisor).
      pidsLimits: [liveEnginePids(SANDBOX_PIDS), PROXY_PIDS],
      cgroupPidsMax: [String(liveEnginePids(SANDBOX_PIDS)), String(PROXY_PIDS)],
      allowed: "probe-ok",
      denied: "403",
      directFails: true,
      home: MARKER,
    };
    expect(before).toMatchObject(expected);

    const restarted = Date.now();
    const restart = spawnSync("bash", [SETUP_ENGINE, "--restart-dockerd"], { encoding: "utf8" });
    expect(restart.status, `${restart.stdout}\n${restart.stderr}`).toBe(0);
    console.log(`[faults] ${restart.stdout.trim()} (${elapsed(restarted)})`);
    const [sandbox, proxy] = await Promise.all([healthyAgain(NAMES.container), healthyAgain(NAMES.proxyContainer)]);
    console.log(`[faults] both healthy again ${elapsed(restarted)} after the restart began`);
    expect(`${sandbox.State.Health?.Status} / ${proxy.State.Health?.Status}`, JSON.stringify([sandbox.State, proxy.State])).toBe("healthy / healthy");

    const after = await evidence();
    expect(after, JSON.stringify(after)).toMatchObject(expected);
    // Restarted, not merely still running: the engine started both anew.
    expect(after.startedAt[0]).not.toBe(before.startedAt[0]);
    expect(after.startedAt[1]).not.toBe(before.startedAt[1]);

    const preview = await stack.pulumi(["preview", "--expect-no-changes", "--diff"], { allowFailure: true });
    expect(preview.code, `${preview.stdout}\n${preview.stderr}`).toBe(0);
    const refresh = await stack.pulumi(["refresh", "--yes", "--expect-no-changes", "--diff"], { allowFailure: true });
    expect(refresh.code, `${refresh.stdout}\n${refresh.stderr}`).toBe(0);
  });
});
