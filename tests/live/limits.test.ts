/**
 * Live proof that the smallest limits the config accepts are limits on the engine: a sandbox declared with
 * memory "6m" and cpus 0.01 (the schema's minimums, Docker's own) gets exactly those from the engine, and a
 * process that allocates past 6 MiB is killed. The container is the program's own declaration
 * (containerArgsFor), realized with the provider's field mapping.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config/stack-schema";
import { physicalName, STACK_OBJECTS, sandboxObjectNames } from "../../components/engine/naming";
import { containerArgsFor } from "../../components/sandbox/container";
import { MIN_CPUS, MIN_MEMORY_MB } from "../../components/values/schema";
import { realizeContainer } from "../../testkit/harness/container";
import type { Tracked } from "../../testkit/harness/state";
import { AGENT_GID, AGENT_UID, docker, EngineGate, execIn, inspectContainer, LOCAL_IMAGES } from "../../testkit/live/engine";
import { readContainerCgroup } from "./support/cgroup";

const identity = { project: "agent-sandbox", stack: `limits-${process.pid}` };
const gate = new EngineGate();
const MIN_MEMORY_BYTES = MIN_MEMORY_MB * 1024 * 1024;
/** The volumes the container's mounts name; the engine makes them at create, unlabelled. */
const VOLUMES = { home: sandboxObjectNames(identity, "tiny").home, credentials: physicalName(identity, STACK_OBJECTS.credentials.name) };
let container: Tracked | undefined;
let workspace: string;

describe("the smallest accepted limits (live)", () => {
  beforeAll(async () => {
    if (!(await gate.engineReady())) return;
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-limits-"));
    fs.chownSync(workspace, AGENT_UID, AGENT_GID);
    const config = parseStackConfig(
      { sandboxes: [{ name: "tiny", workspace, egress: { mode: "none" }, resources: { memory: `${MIN_MEMORY_MB}m`, cpus: MIN_CPUS } }] },
      { homeDir: "/nonexistent-home" },
    );
    const args = containerArgsFor(
      identity,
      config.sandboxes[0],
      { uid: AGENT_UID, gid: AGENT_GID },
      {
        // Any image with a shell shows the limit; the agent image's healthcheck is not what is proven here.
        imageId: LOCAL_IMAGES.baseImage,
        homeVolume: VOLUMES.home,
        protectedPaths: [],
        credentialsVolume: VOLUMES.credentials,
      },
    );
    container = await realizeContainer("tiny", { ...args }, () => {});
    await docker("start", String(container.outputs.name));
  });

  afterAll(async () => {
    if (!gate.available) return;
    await container?.destroy();
    await docker("volume", "rm", "-f", VOLUMES.home, VOLUMES.credentials).catch(() => "");
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("gets 6 MiB and 0.01 CPU from the engine, in its inspect and its cgroup", async (context) => {
    gate.requireEngine(context);
    const info = await inspectContainer(String(container!.outputs.name));
    const limit = readContainerCgroup(info.State.Pid, "memoryLimit");
    const evidence = JSON.stringify({
      memory: info.HostConfig.Memory,
      swap: info.HostConfig.MemorySwap,
      quota: info.HostConfig.CpuQuota,
      period: info.HostConfig.CpuPeriod,
      cgroupLimit: limit,
    });
    expect(info.HostConfig.Memory, evidence).toBe(MIN_MEMORY_BYTES);
    expect(info.HostConfig.MemorySwap, evidence).toBe(MIN_MEMORY_BYTES);
    // 0.01 CPU is 1 ms of every 100 ms period: the smallest quota Docker accepts.
    expect([info.HostConfig.CpuQuota, info.HostConfig.CpuPeriod], evidence).toEqual([MIN_CPUS * 100_000, 100_000]);
    expect(Number(limit), evidence).toBe(MIN_MEMORY_BYTES);
  });

  it("kills a process that allocates past 6 MiB", async (context) => {
    gate.requireEngine(context);
    // One process filling a 32 MiB buffer against a 6 MiB limit without swap: the OOM killer has one choice.
    // (A pipeline flaked: the killer may pick its writer, and the reader then exits 0.)
    const hog = await execIn(String(container!.outputs.name), "dd if=/dev/zero of=/dev/null bs=32M count=1", { timeoutMs: 60_000 });
    expect(hog.exitCode, JSON.stringify(hog)).toBe(137);
  });
});
