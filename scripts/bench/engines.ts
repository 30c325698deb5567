/**
 * Issue #23's engine row: the same sandbox (one config, one agent image built once by the BuildKit builder)
 * deployed by the real CLI on Docker and on rootful Podman, and its start-to-healthy by the program's own
 * start lines on each, median of RESTARTS: stop, then the start lines (the pids limit given and checked, the
 * start, the check until it passes; on Podman also the check recorded, since it keeps no schedule). Podman is
 * measured when scripts/setup-engine.sh --podman prepared it. Run it alone with `npm run bench -- --only engines`.
 */
import * as fs from "node:fs";
import { engineClient } from "../../components/engine/client";
import type { EngineKind } from "../../components/engine/config";
import { sandboxObjectNames } from "../../components/engine/naming";
import { pidsLimitFromEnvironment } from "../../components/hardening/container-start";
import { agentWorkspace, type HostService, liveConfig, PROJECT, sandboxEntry, startHostService } from "../../testkit/live/live-program";
import { pulumiAvailability, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";
import { docker, median, programStartSeconds } from "./engine-measures";
import type { Recorder } from "./isolation";

const RESTARTS = 3;
const HEALTH = { interval: "2s", timeout: "10s", startPeriod: "1s", retries: 3 };

/** The median start-to-healthy of one sandbox deployed on `kind`, in seconds. */
async function startToHealthyOn(kind: EngineKind, probe: HostService): Promise<number> {
  const stackName = `bench-${kind}-${process.pid}`;
  const workspace = agentWorkspace(`agent-sandbox-bench-${kind}-`);
  const stack = await RealStack.create(stackName);
  const engine = engineClient({ engine: kind });
  try {
    stack.setConfig(
      liveConfig({
        image: REGISTRY_BASE_IMAGES,
        docker: { engine: kind },
        sandboxes: [sandboxEntry({ name: "main", workspace, probe, extra: { healthcheck: HEALTH } })],
      }),
    );
    await stack.pulumi(["up", "--yes", "--skip-preview"]);
    const container = sandboxObjectNames({ project: PROJECT, stack: stackName }, "main").container;
    const [env, recorded] = docker(["inspect", "-f", "{{json .Config.Env}}\t{{.HostConfig.PidsLimit}}", container], engine).split("\t");
    const pidsLimit = pidsLimitFromEnvironment(JSON.parse(env) as string[]) ?? Number(recorded);
    const samples: number[] = [];
    for (let sample = 0; sample < RESTARTS; sample++) {
      docker(["stop", "-t", "1", container], engine);
      samples.push(await programStartSeconds(container, HEALTH, pidsLimit, engine));
    }
    return median(samples);
  } finally {
    await stack.remove();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

export async function benchEngines(record: Recorder): Promise<void> {
  const cli = pulumiAvailability();
  if (!cli.available) {
    record("engines", `not measured: ${cli.reason}`);
    return;
  }
  const probe = await startHostService("bench-probe");
  try {
    const onDocker = await startToHealthyOn("docker", probe);
    record(`sandbox start-to-healthy on Docker, the program's start lines (median of ${RESTARTS})`, `${onDocker.toFixed(2)} s`);
    let podmanAnswers = true;
    try {
      docker(["version"], engineClient({ engine: "podman" }));
    } catch {
      podmanAnswers = false;
    }
    if (!podmanAnswers) {
      record("sandbox start-to-healthy on Podman", "not measured: no Podman at unix:///run/podman/podman.sock (scripts/setup-engine.sh --podman)");
      return;
    }
    const onPodman = await startToHealthyOn("podman", probe);
    record(`the same sandbox and image on Podman 4.3 (median of ${RESTARTS})`, `${onPodman.toFixed(2)} s`);
    record("ratio Podman / Docker", `${(onPodman / onDocker).toFixed(2)}x`);
  } finally {
    await probe.close();
  }
}
