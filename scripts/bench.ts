/**
 * npm run bench — measures the targets of the project on this machine and prints one table:
 *   - program evaluation time and peak memory for 1, 10 and 100 sandboxes (mock monitor, own process each);
 *   - start-to-healthy of a deployed sandbox beside a bare `docker run` of the same image with the same
 *     healthcheck, in the same run, as a ratio (target: within 1.5x);
 *   - idle memory of one sandbox, of its egress proxy and of its credential proxy;
 *   - agent image rebuild with no change and after a change outside the build context (target: every
 *     layer reused, same image ID);
 *   - latency the egress proxy adds per request (target: under 5 ms median);
 *   - a real `pulumi up` of one sandbox from nothing (images cached) and a no-change `pulumi up`, beside
 *     the floor: `docker run` of the same images until healthy, both proxies side by side and then the
 *     sandbox, as the program orders them (targets: first up within
 *     2x the floor, no-change up under 5 s). Needs the real CLI and plugins (scripts/setup-pulumi.sh);
 *   - gVisor against runc, same sandbox config in one run (scripts/bench/isolation.ts): start-to-healthy, a
 *     scripted agent run, a git task on a 20k-file repository, idle memory. Needs runsc on the engine.
 * Needs a Docker engine (scripts/setup-engine.sh) for all but the first part. Traffic stays on this machine.
 * `npm run bench -- --only <part>` runs one part (the names are PARTS' keys below).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ContainerInspectInfo } from "dockerode";
import { parseStackConfig } from "../components/config/stack-schema";
import { labelsFor, sandboxObjectNames } from "../components/engine/naming";
import { imageBuildPlan } from "../components/image/build-plan";
import { BUILD_CLI, BUILD_ENV, labelArgs, waitHealthy } from "../testkit/live/engine";
import { agentWorkspace, deployProgram, HOST_CA_BUNDLE, LOCAL_IMAGES, liveConfig, PROJECT, sandboxEntry, startHostService } from "../testkit/live/live-program";
import { pulumiAvailability, REGISTRY_BASE_IMAGES, RealStack } from "../testkit/live/pulumi-cli";
import { measureEgressLatency } from "./bench/egress";
import { docker, dockerRunFloorSeconds, formatMiB, healthcheckFlags, memoryOf, secondsSince, startToHealthySeconds } from "./bench/engine-measures";
import { benchIsolation } from "./bench/isolation";

const ROOT = path.resolve(__dirname, "..");
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

/**
 * Each evaluation in its own process, with a ts-node cache of this run's own: the first evaluation
 * compiles and type-checks the program (what `pulumi up` pays once after the program changes), the rows
 * after it measure evaluation alone.
 */
function benchEvaluation(): void {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-bench-ts-node-"));
  const evaluate = (count: number) => {
    const output = execFileSync(process.execPath, ["scripts/bench/evaluate.cjs", String(count)], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      env: { ...process.env, TS_NODE_CACHE_DIRECTORY: cacheDir },
    });
    return JSON.parse(output.trim().split("\n").pop()!) as { resources: number; ms: number; peakRssMb: number };
  };
  try {
    const cold = evaluate(1);
    record(`evaluate 1 sandbox, program not compiled yet (ts-node type-checks it)`, `${cold.ms} ms, peak ${cold.peakRssMb} MiB`);
    for (const count of [1, 10, 100]) {
      const result = evaluate(count);
      // Each sandbox declares a dozen resources or more; fewer means the wrong entry point was evaluated.
      if (result.resources < count * 10) throw new Error(`evaluating ${count} sandboxes declared only ${result.resources} resources`);
      record(
        `evaluate ${count} sandbox${count === 1 ? "" : "es"} (${result.resources} resources)`,
        `${result.ms} ms, peak ${result.peakRssMb} MiB`,
        count === 100 ? "target < 2000 ms" : "",
      );
    }
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

async function benchSandbox(): Promise<void> {
  const probe = await startHostService("bench-probe");
  const workspace = agentWorkspace("agent-sandbox-bench-");
  const deployStarted = Date.now();
  const stack = await deployProgram(STACK, liveConfig({ sandboxes: [sandboxEntry({ name: "main", workspace, probe })] }));
  try {
    record("deploy one sandbox, images cached (both proxies + sandbox healthy)", `${((Date.now() - deployStarted) / 1000).toFixed(1)} s`);
    const identity = { project: PROJECT, stack: STACK };
    const sandbox = sandboxObjectNames(identity, "main").container;
    const sandboxSeconds = startToHealthySeconds(sandbox);

    // The same image, healthcheck and workspace, with none of the program's settings.
    const info: ContainerInspectInfo = JSON.parse(docker(["inspect", sandbox]))[0];
    const bare = `${sandbox}-bare`;
    docker([
      "run",
      "-d",
      "--name",
      bare,
      ...labelArgs(labelsFor(identity)),
      ...healthcheckFlags(info),
      "--mount",
      `type=bind,source=${workspace},target=/workspace`,
      "--user",
      info.Config.User,
      info.Image,
      "sleep",
      "infinity",
    ]);
    try {
      const bareState = await waitHealthy(bare, 120_000);
      if (bareState.State.Health?.Status !== "healthy") throw new Error(`${bare} did not become healthy: ${JSON.stringify(bareState.State)}`);
      const bareSeconds = startToHealthySeconds(bare);
      record("sandbox start-to-healthy (healthcheck includes the egress self-test)", `${sandboxSeconds.toFixed(2)} s`);
      record("bare docker run start-to-healthy, same image and healthcheck", `${bareSeconds.toFixed(2)} s`);
      record("ratio sandbox / bare", `${(sandboxSeconds / bareSeconds).toFixed(2)}x`, "target <= 1.5x");
      record("idle memory: sandbox", formatMiB(memoryOf(sandbox)));
      record("idle memory: its egress proxy", formatMiB(memoryOf(sandboxObjectNames(identity, "main").proxyContainer)));
      record("idle memory: its credential proxy", formatMiB(memoryOf(sandboxObjectNames(identity, "main").credentialProxy)));
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
    stack.setConfig(liveConfig({ image: REGISTRY_BASE_IMAGES, sandboxes: [sandboxEntry({ name: "main", workspace, probe })] }));
    const up = async () => {
      const started = Date.now();
      await stack.pulumi(["up", "--yes", "--skip-preview"]);
      return secondsSince(started);
    };
    // The first up of this run builds (or takes from BuildKit's cache) both images; what is timed starts after.
    await up();
    await stack.pulumi(["destroy", "--yes", "--skip-preview"]);
    const first = await up();
    const unchanged = await up();
    const identity = { project: PROJECT, stack: stackName };
    const names = sandboxObjectNames(identity, "main");
    const floor = await dockerRunFloorSeconds(
      { proxy: names.proxyContainer, credentialProxy: names.credentialProxy, sandbox: names.container },
      labelArgs(labelsFor(identity)),
    );
    record("real `pulumi up` of one sandbox from nothing, images cached (both proxies + sandbox healthy)", `${first.toFixed(1)} s`);
    record("floor: `docker run` of the same images until healthy (both proxies side by side, then the sandbox)", `${floor.toFixed(1)} s`);
    record("ratio first up / floor", `${(first / floor).toFixed(2)}x`, "target <= 2x");
    record("real `pulumi up` with no change", `${unchanged.toFixed(1)} s`, "target < 5 s");
  } finally {
    await stack.remove();
    await probe.close();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

interface BuildResult {
  readonly seconds: number;
  /** Dockerfile steps BuildKit ran or took from its cache, and how many of them came from the cache. */
  readonly steps: number;
  readonly cached: number;
  readonly id: string;
}

function build(tag: string, buildArgs: Record<string, string>): BuildResult {
  const args = ["build", "--progress", "plain", "--secret", `id=extra_ca,src=${HOST_CA_BUNDLE}`];
  for (const [name, value] of Object.entries(buildArgs)) args.push("--build-arg", `${name}=${value}`);
  const started = Date.now();
  const result = spawnSync(BUILD_CLI, [...args, "-t", tag, "docker/agent"], { cwd: ROOT, encoding: "utf8", env: BUILD_ENV });
  if (result.status !== 0) throw new Error(`agent image build failed:\n${result.stderr}`);
  const seconds = (Date.now() - started) / 1000;
  // BuildKit's plain progress (on stderr) names each step "#N [stage k/n] ..." and marks reuse "#N CACHED".
  const log = `${result.stdout}${result.stderr}`;
  // FROM steps only name a base image: there is nothing to build or cache, so they are not counted.
  const stepIds = new Set([...log.matchAll(/^#(\d+) \[[^\]]*\d+\/\d+\] (?!FROM )/gm)].map((match) => match[1]));
  const cachedIds = new Set([...log.matchAll(/^#(\d+) CACHED$/gm)].map((match) => match[1]));
  return {
    seconds,
    steps: stepIds.size,
    cached: [...stepIds].filter((id) => cachedIds.has(id)).length,
    id: docker(["image", "inspect", "-f", "{{.Id}}", tag]),
  };
}

const describeBuild = (build: BuildResult, first: BuildResult) =>
  `${build.seconds.toFixed(1)} s, ${build.cached}/${build.steps} steps from cache, same image ID: ${build.id === first.id}`;

function benchRebuild(): void {
  const config = parseStackConfig({ workspace: "/tmp", image: { ...LOCAL_IMAGES } }, { homeDir: "/nonexistent" });
  const { buildArgs } = imageBuildPlan(config.image, { project: "agent-sandbox", stack: STACK });
  const tag = `agent-sandbox/agent:${STACK}`;
  // A file beside the build context (docker/agent): editing the repository must not rebuild the image.
  const outside = path.join(ROOT, "docker", `.bench-outside-context-${process.pid}`);
  try {
    const first = build(tag, buildArgs);
    record("agent image build (first in this run)", `${first.seconds.toFixed(1)} s`);
    record("rebuild with no change", describeBuild(build(tag, buildArgs), first), "target: every layer reused");
    fs.writeFileSync(outside, String(Date.now()));
    record("rebuild after a change outside the build context", describeBuild(build(tag, buildArgs), first), "target: every layer reused");
  } finally {
    fs.rmSync(outside, { force: true });
    docker(["rmi", tag]);
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

/** The parts in the order they run; all but evaluation need the engine. */
const PARTS: { [name: string]: () => Promise<void> | void } = {
  evaluation: benchEvaluation,
  rebuild: benchRebuild,
  sandbox: benchSandbox,
  "real-engine": benchRealEngine,
  egress: benchEgress,
  isolation: () => benchIsolation(record),
};

/** `--only <part>`: one part alone, since the whole bench takes minutes; without it, every part. */
function chosenParts(argv: string[]): string[] {
  const at = argv.indexOf("--only");
  if (at === -1) return Object.keys(PARTS);
  const name = argv[at + 1];
  if (!(name in PARTS)) throw new Error(`--only takes one of ${Object.keys(PARTS).join(", ")}; got ${JSON.stringify(name)}`);
  return [name];
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
  for (const part of parts) if (engine || part === "evaluation") await PARTS[part]();
  printTable();
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
