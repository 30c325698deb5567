/**
 * How evaluation grows with the fleet: the program evaluated with 1 to 1000 sandboxes under the mock
 * monitor (scripts/bench/evaluate.cjs, each in a process of its own so peak memory is that evaluation's),
 * and a real `pulumi preview` of 100 sandboxes, the engine's round trips included.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { agentWorkspace, liveConfig } from "../../testkit/live/live-program";
import { type PreviewStep, pulumiAvailability, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";
import { docker, median, secondsSince } from "./engine-measures";
import type { Recorder } from "./isolation";

const ROOT = path.resolve(__dirname, "../..");
const FLEETS = [1, 10, 100, 300, 1000];
/** Issue #24: growth stays linear, so 1000 sandboxes cost at most 11 times what 100 do. */
const MAX_RATIO_1000_TO_100 = 11;
const PREVIEW_SANDBOXES = 100;
const TARGET_SANDBOXES = 100;
const TARGET_ROUNDS = 3;
/** Issue #26: a cluster's sandboxes cost at most 1.2 times what the same sandboxes cost on Docker to evaluate. */
const MAX_RATIO_KUBERNETES_TO_DOCKER = 1.2;
const PREVIEW_TARGET_SECONDS = 20;

interface Evaluation {
  readonly resources: number;
  readonly ms: number;
  /** CPU time of the evaluation: what it cost, where a busy machine stretches ms. */
  readonly cpuMs: number;
  readonly peakRssMb: number;
}

const describe = (evaluation: Evaluation) => `${evaluation.ms} ms (CPU ${evaluation.cpuMs} ms), peak ${evaluation.peakRssMb} MiB`;

const plural = (count: number) => `${count} sandbox${count === 1 ? "" : "es"}`;

type Target = "docker" | "kubernetes";

/** scripts/bench/evaluate.cjs in a process of its own, compiling through the ts-node cache in cacheDir. */
function evaluateInProcess(count: number, target: Target, cacheDir: string): Evaluation {
  const output = execFileSync(process.execPath, ["scripts/bench/evaluate.cjs", String(count), target], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
    env: { ...process.env, TS_NODE_CACHE_DIRECTORY: cacheDir },
  });
  return JSON.parse(output.trim().split("\n").pop()!) as Evaluation;
}

/**
 * Each evaluation in its own process, with a ts-node cache of this run's own: the first evaluation
 * compiles and type-checks the program (what `pulumi up` pays once after the program changes), the rows
 * after it measure evaluation alone.
 */
function benchMockEvaluation(record: Recorder): void {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-bench-ts-node-"));
  const evaluate = (count: number) => evaluateInProcess(count, "docker", cacheDir);
  try {
    const cold = evaluate(1);
    record(`evaluate 1 sandbox, program not compiled yet (ts-node type-checks it)`, describe(cold));
    const byCount = new Map<number, Evaluation>();
    for (const count of FLEETS) {
      const result = evaluate(count);
      // Each sandbox declares a dozen resources or more; fewer means the wrong entry point was evaluated.
      if (result.resources < count * 10) throw new Error(`evaluating ${plural(count)} declared only ${result.resources} resources`);
      byCount.set(count, result);
      record(`evaluate ${plural(count)} (${result.resources} resources)`, describe(result), count === 100 ? "target < 2000 ms" : "");
    }
    const [hundred, thousand] = [byCount.get(100)!, byCount.get(1000)!];
    record(
      "evaluate 1000 / 100 sandboxes: time, CPU time, peak memory",
      [thousand.ms / hundred.ms, thousand.cpuMs / hundred.cpuMs, thousand.peakRssMb / hundred.peakRssMb].map((ratio) => `${ratio.toFixed(1)}x`).join(", "),
      `target <= ${MAX_RATIO_1000_TO_100}x`,
    );
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

/**
 * `pulumi preview` of a new stack of 100 sandboxes on a file backend: the real CLI, language host and
 * providers, so the engine's gRPC round trips and the providers' checks and diffs are in it. A preview
 * creates nothing; the stack and its backend are removed afterwards.
 */
async function benchRealPreview(record: Recorder): Promise<void> {
  const measure = `real \`pulumi preview\` of ${PREVIEW_SANDBOXES} sandboxes, new stack on a file backend`;
  const cli = pulumiAvailability();
  if (!cli.available) {
    record(measure, `not measured: ${cli.reason}`);
    return;
  }
  try {
    docker(["info", "--format", "{{.ServerVersion}}"]);
  } catch {
    record(measure, "not measured: no Docker engine answers (the providers check it during a preview)");
    return;
  }
  const workspace = agentWorkspace("agent-sandbox-bench-preview-");
  const stack = await RealStack.create(`bench-preview-${process.pid}`);
  try {
    const sandboxes = Array.from({ length: PREVIEW_SANDBOXES }, (_, index) => ({ name: `s${index}`, workspace }));
    stack.setConfig(liveConfig({ image: REGISTRY_BASE_IMAGES, sandboxes }));
    // RealStack keeps full stack traces for test output; a user's preview runs without them (stack-traces.ts).
    const withoutTraces = { env: { AGENT_SANDBOX_STACK_TRACES: "" } };
    // The first preview warms what a user's machine has warm: the providers' binaries in the page cache,
    // ts-node's compile of the program, BuildKit's cache of both images.
    await stack.pulumi(["preview"], withoutTraces);
    const started = Date.now();
    const { stdout } = await stack.pulumi(["preview", "--json"], withoutTraces);
    const seconds = secondsSince(started);
    const creates = ((JSON.parse(stdout) as { steps?: PreviewStep[] }).steps ?? []).filter((step) => step.op === "create").length;
    if (creates < PREVIEW_SANDBOXES * 10) throw new Error(`the preview of ${plural(PREVIEW_SANDBOXES)} would create only ${creates} resources`);
    record(`${measure} (${creates} resources to create)`, `${seconds.toFixed(1)} s`, `target < ${PREVIEW_TARGET_SECONDS} s`);
  } finally {
    await stack.remove();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

/**
 * Issue #26: the same 100 sandboxes on the Kubernetes target as on Docker, taken in turn so the machine's
 * load weighs on both alike, after one evaluation that fills the ts-node cache. The target is on CPU time,
 * which a busy machine stretches less than wall time.
 */
export function benchEvaluationTargets(record: Recorder): void {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-bench-ts-node-"));
  try {
    evaluateInProcess(1, "kubernetes", cacheDir);
    const samples: Record<Target, Evaluation[]> = { docker: [], kubernetes: [] };
    for (let round = 0; round < TARGET_ROUNDS; round++)
      for (const target of ["docker", "kubernetes"] as const) samples[target].push(evaluateInProcess(TARGET_SANDBOXES, target, cacheDir));
    const medianOf = (target: Target) => {
      const of = (measure: (evaluation: Evaluation) => number) => median(samples[target].map(measure));
      return { resources: samples[target][0].resources, ms: of((e) => e.ms), cpuMs: of((e) => e.cpuMs), peakRssMb: of((e) => e.peakRssMb) };
    };
    const [docker, kubernetes] = [medianOf("docker"), medianOf("kubernetes")];
    for (const [target, result] of [
      ["Docker", docker],
      ["Kubernetes", kubernetes],
    ] as const)
      record(`evaluate ${plural(TARGET_SANDBOXES)} on ${target} (${result.resources} resources, median of ${TARGET_ROUNDS})`, describe(result));
    record(
      "evaluate on Kubernetes / on Docker: CPU time (wall time, peak memory)",
      `${(kubernetes.cpuMs / docker.cpuMs).toFixed(2)}x (${(kubernetes.ms / docker.ms).toFixed(2)}x, ${(kubernetes.peakRssMb / docker.peakRssMb).toFixed(2)}x)`,
      `target <= ${MAX_RATIO_KUBERNETES_TO_DOCKER}x by CPU time`,
    );
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

export async function benchEvaluation(record: Recorder): Promise<void> {
  benchMockEvaluation(record);
  await benchRealPreview(record);
}
