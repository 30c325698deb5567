/**
 * npm run bench — measures the targets of the project on this machine and prints one table:
 *   - program evaluation time and peak memory for 1 to 1000 sandboxes (mock monitor, own process each), and a
 *     real `pulumi preview` of 100 sandboxes, and 100 on Kubernetes beside Docker (scripts/bench/evaluation.ts);
 *   - start-to-ready of a deployed sandbox (default healthcheck, the program's own start lines) beside the
 *     floor: `docker start` of the same image, its check run by hand until it passes (target: within 1.3x);
 *   - idle memory of one sandbox, of its egress proxy and of its credential proxy;
 *   - agent image rebuild, no change and a change outside the context (target: all layers reused, same ID);
 *   - latency the egress proxy adds per request (target: under 5 ms median);
 *   - a real `pulumi up` of one sandbox from nothing (images cached, default healthcheck) and a no-change
 *     `pulumi up`, beside the floor: `docker run` of the same images, each checked by hand until its check
 *     passes, both proxies side by side and then the sandbox, as the program orders them (targets: first
 *     up within 1.5x the floor, no-change up under 3 s). Needs the real CLI and plugins (scripts/setup-pulumi.sh);
 *   - gVisor against runc, same sandbox config in one run (scripts/bench/isolation.ts): start-to-healthy, a
 *     scripted agent run, a git task on a 20k-file repository, idle memory. Needs runsc on the engine;
 *   - per agent, a run by the program's run command vs the bare CLI (scripts/bench/agent-runs.ts; ≤ 1.1x);
 *   - the same sandbox's start-to-healthy on Docker and on rootful Podman (scripts/bench/engines.ts);
 *   - the local cluster's cold build, warm start to Ready and idle memory (scripts/bench/kubernetes.ts, root);
 *   - one sandbox's `pulumi up` on that cluster beside `kubectl apply` of the same objects (the same file).
 * Needs a Docker engine (scripts/setup-engine.sh) for all but the first part. Traffic stays on this machine.
 * `npm run bench -- --only <part>[,<part>...]` runs those parts (the names are PARTS' keys below).
 */
import * as fs from "node:fs";
import type { ContainerInspectInfo } from "dockerode";
import { parseStackConfig } from "../components/config/stack-schema";
import { labelsFor, sandboxObjectNames } from "../components/engine/naming";
import { labelArgs, waitHealthy } from "../testkit/live/engine";
import { agentWorkspace, deployProgram, liveConfig, PROJECT, sandboxEntry, startHostService } from "../testkit/live/live-program";
import { pulumiAvailability, REGISTRY_BASE_IMAGES, RealStack } from "../testkit/live/pulumi-cli";
import { benchAgentRuns } from "./bench/agent-runs";
import { measureEgressLatency } from "./bench/egress";
import {
  checkedByHandSeconds,
  docker,
  dockerRunFloorSeconds,
  formatMiB,
  healthcheckFlags,
  median,
  memoryOf,
  programStartSeconds,
  secondsSince,
  startToHealthySeconds,
  upMilestones,
} from "./bench/engine-measures";
import { benchEngines } from "./bench/engines";
import { benchEvaluation, benchEvaluationTargets } from "./bench/evaluation";
import { benchImageSize } from "./bench/image-size";
import { benchIsolation } from "./bench/isolation";
import { benchKubernetes, benchKubernetesBuild, benchKubernetesDeploy } from "./bench/kubernetes";
import { benchRebuild } from "./bench/rebuild";

const STACK = `bench-${process.pid}`;

interface Row {
  readonly measure: string;
  readonly value: string;
  readonly target: string;
}

const rows: Row[] = [];
const record = (measure: string, value: string, target = "") => {
  rows.push({ measure, value, target });
  console.error(`bench: ${measure}: ${value}${target ? ` (${target})` : ""}`);
};

const DEFAULT_HEALTHCHECK = { healthcheck: {} }; // the component's default (15 s interval), as a user's sandbox has it
const DEFAULT_HEALTH = parseStackConfig({ workspace: "/tmp" }, { homeDir: "/nonexistent" }).sandboxes[0].healthcheck;

/**
 * Start-to-ready of a deployed sandbox by the program's own start lines, beside the floor: a container of
 * the same image, user, environment, network, workspace and check, started and checked by hand. Pair by
 * pair, 3 of each.
 */
async function benchSandbox(): Promise<void> {
  const probe = await startHostService("bench-probe");
  const workspace = agentWorkspace("agent-sandbox-bench-");
  const deployStarted = Date.now();
  const stack = await deployProgram(STACK, liveConfig({ sandboxes: [sandboxEntry({ name: "main", workspace, probe, extra: DEFAULT_HEALTHCHECK })] }));
  try {
    record(
      "deploy one sandbox through the harness, images cached, default healthcheck (both proxies + sandbox ready)",
      `${secondsSince(deployStarted).toFixed(1)} s`,
    );
    const identity = { project: PROJECT, stack: STACK };
    const names = sandboxObjectNames(identity, "main");
    const info: ContainerInspectInfo = JSON.parse(docker(["inspect", names.container]))[0];
    // The same image, check, environment, network and workspace, so its check does the same work (the egress
    // self-test through the same proxy), with none of the program's hardening; created before timing, as the sandbox was.
    const bare = `${names.container}-bare`;
    docker([
      "create",
      "--name",
      bare,
      ...labelArgs(labelsFor(identity)),
      ...healthcheckFlags(info),
      ...info.Config.Env.flatMap((variable) => ["--env", variable]),
      "--network",
      names.network,
      "--mount",
      `type=bind,source=${workspace},target=/workspace`,
      "--user",
      info.Config.User,
      info.Image,
      "sleep",
      "infinity",
    ]);
    try {
      const sandboxSamples: number[] = [];
      const floorSamples: number[] = [];
      for (let sample = 0; sample < 3; sample++) {
        docker(["stop", "-t", "1", names.container]);
        sandboxSamples.push(await programStartSeconds(names.container, DEFAULT_HEALTH, info.HostConfig.PidsLimit ?? 0));
        const started = Date.now();
        docker(["start", bare]);
        floorSamples.push(await checkedByHandSeconds(bare, started));
        docker(["stop", "-t", "1", bare]);
      }
      const [ready, floor] = [median(sandboxSamples), median(floorSamples)];
      record("sandbox start-to-ready by the program's start lines, default healthcheck (median of 3)", `${ready.toFixed(2)} s`);
      record("floor: `docker start` of the same image, env and network, its check run by hand until it passes (median of 3)", `${floor.toFixed(2)} s`);
      record("ratio sandbox / floor", `${(ready / floor).toFixed(2)}x`, "target <= 1.3x");
      const scheduled = await waitHealthy(names.container, 120_000);
      if (scheduled.State.Health?.Status !== "healthy") throw new Error(`${names.container} did not turn healthy: ${JSON.stringify(scheduled.State)}`);
      record(
        "the engine's own first scheduled check after that start (what readiness waited for before)",
        `${startToHealthySeconds(names.container).toFixed(2)} s`,
      );
      record("idle memory: sandbox", formatMiB(memoryOf(names.container)));
      record("idle memory: its egress proxy", formatMiB(memoryOf(names.proxyContainer)));
      record("idle memory: its credential proxy", formatMiB(memoryOf(names.credentialProxy)));
    } finally {
      docker(["rm", "-f", bare]);
    }
  } finally {
    await stack.teardown();
    await probe.close();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

async function benchRealEngine(): Promise<void> {
  const cli = pulumiAvailability();
  if (!cli.available) {
    record("real pulumi up", `not measured: ${cli.reason}`);
    return;
  }
  const probe = await startHostService("bench-probe");
  const workspace = agentWorkspace("agent-sandbox-bench-real-");
  const stackName = `bench-real-${process.pid}`;
  const stack = await RealStack.create(stackName);
  try {
    stack.setConfig(liveConfig({ image: REGISTRY_BASE_IMAGES, sandboxes: [sandboxEntry({ name: "main", workspace, probe, extra: DEFAULT_HEALTHCHECK })] }));
    const up = async () => {
      const started = Date.now();
      await stack.pulumi(["up", "--yes", "--skip-preview"]);
      return secondsSince(started);
    };
    // The first up of this run builds (or takes from BuildKit's cache) both images; what is timed starts after.
    await up();
    await stack.pulumi(["destroy", "--yes", "--skip-preview"]);
    const firstStarted = Date.now();
    const first = await up();
    const firstEnded = Date.now();
    const unchanged = await up();
    const identity = { project: PROJECT, stack: stackName };
    const names = sandboxObjectNames(identity, "main");
    const { agentImage } = await stack.outputs();
    const milestones = upMilestones(firstStarted, firstEnded, { network: names.network, agentImageId: agentImage.imageId });
    const floor = await dockerRunFloorSeconds(
      { proxy: names.proxyContainer, credentialProxy: names.credentialProxy, sandbox: names.container },
      labelArgs(labelsFor(identity)),
    );
    record("real `pulumi up` of one sandbox from nothing, images cached, default healthcheck (both proxies + sandbox ready)", `${first.toFixed(1)} s`);
    record(
      "floor: `docker run` of the same images, each checked by hand until it passes (both proxies side by side, then the sandbox)",
      `${floor.toFixed(1)} s`,
    );
    record("ratio first up / floor", `${(first / floor).toFixed(2)}x`, "target <= 1.5x");
    record("of which: until the engine's first object (the CLI, its plugins, the program's evaluation)", `${milestones.firstObject.toFixed(1)} s`);
    record(
      "of which: until the agent image is loaded into the engine (a build from cache still loads it whole)",
      `${milestones.agentImageLoaded.toFixed(1)} s`,
    );
    record("real `pulumi up` with no change", `${unchanged.toFixed(1)} s`, "target < 3 s");
  } finally {
    await stack.remove();
    await probe.close();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

function printTable(): void {
  console.log("| measure | value | target |\n|---|---|---|");
  for (const row of rows) console.log(`| ${row.measure} | ${row.value} | ${row.target} |`);
}

async function benchEgress(): Promise<void> {
  const latency = await measureEgressLatency({ requests: 300 });
  record("egress proxy: direct request median / p99", `${latency.directMedianMs.toFixed(2)} / ${latency.directP99Ms.toFixed(2)} ms`);
  record("egress proxy: through the proxy median / p99", `${latency.proxyMedianMs.toFixed(2)} / ${latency.proxyP99Ms.toFixed(2)} ms`);
  record("egress proxy: added median", `${(latency.proxyMedianMs - latency.directMedianMs).toFixed(2)} ms`, "target < 5 ms");
}

/** The parts in the order they run; all but the evaluation parts need the engine. */
const PARTS: { [name: string]: () => Promise<void> | void } = {
  evaluation: () => benchEvaluation(record),
  "evaluation-kubernetes": () => benchEvaluationTargets(record),
  rebuild: () => benchRebuild(record),
  sandbox: benchSandbox,
  "real-engine": benchRealEngine,
  egress: benchEgress,
  isolation: () => benchIsolation(record),
  image: () => benchImageSize(record),
  agents: () => benchAgentRuns(record),
  engines: () => benchEngines(record),
  "kubernetes-build": () => benchKubernetesBuild(record),
  kubernetes: () => benchKubernetes(record),
  "kubernetes-deploy": () => benchKubernetesDeploy(record),
};

/** `--only <part>[,<part>...]`: those parts alone, in PARTS' order, since the whole bench takes minutes; without it, every part. */
function chosenParts(argv: string[]): string[] {
  const at = argv.indexOf("--only");
  if (at === -1) return Object.keys(PARTS);
  const names = (argv[at + 1] ?? "").split(",");
  const unknown = names.filter((name) => !(name in PARTS));
  if (unknown.length > 0)
    throw new Error(`--only takes parts from ${Object.keys(PARTS).join(", ")}, comma-separated; got ${JSON.stringify(unknown.join(","))}`);
  return Object.keys(PARTS).filter((name) => names.includes(name));
}

async function main(): Promise<void> {
  const parts = chosenParts(process.argv.slice(2));
  let engine = true;
  try {
    docker(["info", "--format", "{{.ServerVersion}}"]);
  } catch {
    engine = false;
    console.error("bench: no Docker engine answers; only program evaluation was measured (run scripts/setup-engine.sh)");
  }
  for (const part of parts) if (engine || part.startsWith("evaluation")) await PARTS[part]();
  printTable();
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
