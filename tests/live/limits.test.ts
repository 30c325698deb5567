/**
 * Live proof that the smallest limits the config accepts are limits on the engine: a sandbox declared with
 * memory "6m" and cpus 0.01 (the schema's minimums, Docker's own) gets exactly those from the engine, and a
 * process that allocates past 6 MiB is killed. The container is the program's own declaration
 * (containerArgsFor), realized with the provider's field mapping. Under AGENT_SANDBOX_LIVE_ISOLATION=gvisor the
 * smallest limits the config accepts are GVISOR_MIN_MEMORY_MB and GVISOR_MIN_CPUS (runsc itself needs them),
 * and those are proven.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config/stack-schema";
import { DOCKER } from "../../components/engine/engine";
import { physicalName, STACK_OBJECTS, sandboxObjectNames } from "../../components/engine/naming";
import { GVISOR_MIN_CPUS, GVISOR_MIN_MEMORY_MB } from "../../components/sandbox/config-rules";
import { containerArgsFor } from "../../components/sandbox/container";
import { MIN_CPUS, MIN_MEMORY_MB } from "../../components/values/schema";
import { realizeContainer } from "../../testkit/harness/container";
import type { Tracked } from "../../testkit/harness/state";
import { AGENT_GID, AGENT_UID, docker, EngineGate, engineEvents, execIn, inspectContainer, LOCAL_IMAGES } from "../../testkit/live/engine";
import { isolationField, underGvisor } from "../../testkit/live/isolation";
import { readContainerCgroup } from "./support/cgroup";

const identity = { project: "agent-sandbox", stack: `limits-${process.pid}` };
const gate = new EngineGate();
/** The smallest memory the config accepts under this run's isolation (the schema refuses less for gVisor). */
const SMALLEST_MB = underGvisor ? GVISOR_MIN_MEMORY_MB : MIN_MEMORY_MB;
const MIN_MEMORY_BYTES = SMALLEST_MB * 1024 * 1024;
/** The smallest CPU limit the config accepts under this run's isolation (runsc serves each exec within it). */
const SMALLEST_CPUS = underGvisor ? GVISOR_MIN_CPUS : MIN_CPUS;
/** One buffer well past the limit: the OOM killer has one choice. */
const HOG_MB = Math.max(32, 2 * SMALLEST_MB);
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
      {
        sandboxes: [{ name: "tiny", workspace, egress: { mode: "none" }, resources: { memory: `${SMALLEST_MB}m`, cpus: SMALLEST_CPUS }, ...isolationField() }],
      },
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
        engine: DOCKER,
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

  it(`gets ${SMALLEST_MB} MiB and ${SMALLEST_CPUS} CPU from the engine, in its inspect and its cgroup`, async (context) => {
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
    // 0.01 CPU is 1 ms of every 100 ms period: the smallest quota Docker accepts (gVisor: 0.1, 10 ms).
    expect([info.HostConfig.CpuQuota, info.HostConfig.CpuPeriod], evidence).toEqual([Math.round(SMALLEST_CPUS * 100_000), 100_000]);
    expect(Number(limit), evidence).toBe(MIN_MEMORY_BYTES);
  });

  it(`kills a process that allocates past ${SMALLEST_MB} MiB`, async (context) => {
    gate.requireEngine(context);
    // One process filling a buffer twice the limit (at least 32 MiB) without swap: the OOM killer has one choice.
    // (A pipeline flaked: the killer may pick its writer, and the reader then exits 0.)
    const name = String(container!.outputs.name);
    const since = Math.floor(Date.now() / 1000) - 1;
    const hog = await execIn(name, `dd if=/dev/zero of=/dev/null bs=${HOG_MB}M count=1`, { timeoutMs: 60_000 });
    if (!underGvisor) {
      expect(hog.exitCode, JSON.stringify(hog)).toBe(137);
      return;
    }
    // Under gVisor the host's OOM killer finds the Sentry (gVisor's kernel, the host process behind every process
    // inside), so the whole sandbox is killed and the exec ends with runsc's error, not 137 (docs/gvisor-findings.md).
    // The limit held all the same: the engine records the container's OOM and its death by SIGKILL.
    const events = async (event: string, format: string) => (await engineEvents(name, since, event, format)).split("\n");
    const evidence = JSON.stringify({ hog, ooms: await events("oom", "{{.Action}}"), deaths: await events("die", "{{.Actor.Attributes.exitCode}}") });
    expect(hog.exitCode, evidence).not.toBe(0);
    expect(JSON.parse(evidence).ooms, evidence).toContain("oom");
    expect(JSON.parse(evidence).deaths, evidence).toContain("137");
  });
});
