/**
 * Issue #21's price of gVisor: one stack with two sandboxes alike in all but `isolation` (same image, same
 * config, a workspace each), one on runc and one on runsc, measured pair by pair in one run, each repetition
 * taking the two in turn (the order flipped every time) so a busy machine weighs on both alike:
 *   - start-to-healthy after `docker restart`, median of RESTARTS (target: gVisor within 1.5x of runc);
 *   - a scripted agent run: the run command the program declared (the real Claude Code CLI through
 *     `docker exec`), against the stand-in Messages API, whose turns make the agent write, read and edit
 *     files in /workspace and run shell tools; median of RUNS after the deploy's own run (target: 1.3x);
 *   - `git status`, then `git add -A && git commit` of a change, in a 20k-file repository that is the
 *     workspace, timed inside the sandbox as the agent; median of ROUNDS (target: 2x);
 *   - idle memory of the sandbox and both proxies by docker stats, plus the runtime's processes outside
 *     their cgroups (the shims), the total the ratio uses (target: 2x); runsc's own processes, in the
 *     sandbox's cgroup, are shown by PSS beside it.
 * Run it alone with `npm run bench -- --only isolation`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { claude } from "../../components/agents/claude";
import { sandboxObjectNames } from "../../components/engine/naming";
import { GVISOR_RUNTIME, Isolation } from "../../components/hardening/isolation";
import { type RealizedResource, rerunCreate, secretConfig } from "../../testkit/harness";
import { execIn, waitHealthy } from "../../testkit/live/engine";
import { type FakeMessagesApi, type ScriptedTurn, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import { type HostService, LiveSuite, liveConfig, PROJECT, sandboxEntry, startHostService, testTls } from "../../testkit/live/live-program";
import { engineRuntimes } from "../../testkit/live/runtime-gate";
import { agentRepository } from "../../testkit/live/workspace-files";
import { docker, formatMiB, median, memoryOf, runtimeProcessesOf, secondsSince, startToHealthy } from "./engine-measures";

export type Recorder = (measure: string, value: string, target?: string) => void;

const RESTARTS = 3;
const RUNS = 3;
const ROUNDS = 3;
const REPOSITORY_FILES = 20_000;
const FILES_PER_FOLDER = 100;
/** Files each git round changes before it is timed: one per folder. */
const CHANGED_PER_ROUND = REPOSITORY_FILES / FILES_PER_FOLDER;
const STACK = `bench-isolation-${process.pid}`;
const ISOLATIONS = [Isolation.Container, Isolation.Gvisor] as const;
type Pair = { [isolation in Isolation]: number };

/** Sandbox names that say the runtime, so the engine's container names do too. */
const SANDBOX: { [isolation in Isolation]: string } = { container: "runc", gvisor: "runsc" };
const names = (isolation: Isolation) => sandboxObjectNames({ project: PROJECT, stack: STACK }, SANDBOX[isolation]);

const PROMPT = "Make the numbers file and the notes in a folder of your own, mark the notes done, then summarise with shell tools.";
const DONE_TEXT = "Done: the notes are marked done and the top numbers are in top.txt.";
const NOTES = "# Notes\n\nstatus: draft\n\n- one\n- two\n- three\n";
const NUMBERS = 5000;

/** The folder of agent run `index` (0 is the deploy's own run), ignored by the workspace's git. */
const runFolder = (index: number) => `agent-run-${index}`;

/** The model's turns of run `index`: Bash, Write, Read, Edit, Bash again, then the final answer. */
function agentTurns(index: number): ScriptedTurn[] {
  const folder = `/workspace/${runFolder(index)}`;
  const notes = `${folder}/notes.md`;
  return [
    {
      kind: "tool_use",
      name: "Bash",
      input: { command: `mkdir -p ${folder} && seq 1 ${NUMBERS} > ${folder}/numbers.txt`, description: "Make the numbers file" },
    },
    { kind: "tool_use", name: "Write", input: { file_path: notes, content: NOTES }, text: "Now the notes." },
    { kind: "tool_use", name: "Read", input: { file_path: notes } },
    { kind: "tool_use", name: "Edit", input: { file_path: notes, old_string: "status: draft", new_string: "status: done" } },
    {
      kind: "tool_use",
      name: "Bash",
      input: {
        command: `cd ${folder} && grep -c . notes.md && sort -rn numbers.txt | head -n 3 > top.txt && wc -l numbers.txt && ls -l`,
        description: "Summarise",
      },
    },
    { kind: "text", text: DONE_TEXT },
  ];
}

/** What run `index` must leave in the workspace: a run that did not do the work must not be timed as one. */
function checkRunWork(workspace: string, index: number, stdout: string): void {
  const folder = path.join(workspace, runFolder(index));
  const summary = claude.parseOutput(stdout);
  const notes = fs.existsSync(path.join(folder, "notes.md")) ? fs.readFileSync(path.join(folder, "notes.md"), "utf8") : "";
  const top = fs.existsSync(path.join(folder, "top.txt")) ? fs.readFileSync(path.join(folder, "top.txt"), "utf8") : "";
  const expectedTop = [NUMBERS, NUMBERS - 1, NUMBERS - 2].join("\n");
  if (!summary.success || summary.resultText !== DONE_TEXT || !notes.includes("status: done") || top.trim() !== expectedTop) {
    throw new Error(`agent run ${index} in ${workspace} did not do its work: ${JSON.stringify({ summary, notes, top })}`);
  }
}

/** The workspace: a git repository of REPOSITORY_FILES files, committed and packed, as a clone would be. */
function benchRepository(): string {
  const files: { [file: string]: string } = { ".gitignore": "agent-run-*/\n" };
  for (let index = 0; index < REPOSITORY_FILES; index += 1) {
    files[`src/d${Math.floor(index / FILES_PER_FOLDER)}/f${index % FILES_PER_FOLDER}.txt`] = `file ${index}\n`;
  }
  return agentRepository("agent-sandbox-bench-isolation-", files, { pack: true });
}

/**
 * One git round as the agent: change a file in each folder (not timed), then time `git status` and the
 * commit with the sandbox's own clock. Identity and no auto-gc come on the command line: `.git/config` is
 * mounted read-only in the sandbox, and a background gc would land in a later round's time.
 */
function gitRound(round: number): string {
  const git = "git -c user.name=bench -c user.email=bench@example.com -c gc.auto=0";
  return `set -e
cd /workspace
for folder in src/d*; do echo "round ${round}" >> "$folder/f0.txt"; done
t0=$(date +%s%N)
${git} status --porcelain > /dev/null
t1=$(date +%s%N)
${git} add -A
${git} commit -q -m "bench round ${round}"
t2=$(date +%s%N)
echo "$((t1 - t0)) $((t2 - t1)) $(${git} show --stat --format= HEAD | tail -n 1)"`;
}

/** Repetition `index`'s order of the two: flipped each time, so neither is always first after a pause. */
const inTurn = (index: number) => (index % 2 === 0 ? ISOLATIONS : [...ISOLATIONS].reverse());

async function repeated(count: number, measure: (isolation: Isolation, index: number) => Promise<number>): Promise<{ [isolation in Isolation]: number[] }> {
  const samples = { container: [] as number[], gvisor: [] as number[] };
  for (let index = 0; index < count; index += 1) for (const isolation of inTurn(index)) samples[isolation].push(await measure(isolation, index));
  return samples;
}

function pairRecorder(record: Recorder) {
  return (measure: string, pair: Pair, format: (value: number) => string, target?: number) => {
    const ratio = pair.gvisor / pair.container;
    const missed = target !== undefined && ratio > target ? ", MISSED" : "";
    record(
      `${measure}, runc / gVisor`,
      `${format(pair.container)} / ${format(pair.gvisor)}: ${ratio.toFixed(2)}x${missed}`,
      target ? `target <= ${target}x` : "",
    );
  };
}

const seconds = (value: number) => `${value.toFixed(2)} s`;
const medians = (samples: { [isolation in Isolation]: number[] }): Pair => ({ container: median(samples.container), gvisor: median(samples.gvisor) });
const logSamples = (what: string, samples: { [isolation in Isolation]: number[] }) =>
  console.error(
    `bench: ${what} samples: runc ${samples.container.map((s) => s.toFixed(3)).join(", ")}; gVisor ${samples.gvisor.map((s) => s.toFixed(3)).join(", ")}`,
  );

export async function benchIsolation(record: Recorder): Promise<void> {
  const runtimes = await engineRuntimes();
  if (!(GVISOR_RUNTIME in runtimes)) {
    record(
      "gVisor against runc",
      `not measured: the engine has no runtime "${GVISOR_RUNTIME}" (it has ${Object.keys(runtimes).join(", ")}); run scripts/setup-engine.sh`,
    );
    return;
  }
  const pairRow = pairRecorder(record);
  const suite = new LiveSuite(STACK);
  const opened: (HostService | FakeMessagesApi)[] = [];
  const workspaces: Partial<{ [isolation in Isolation]: string }> = {};
  try {
    const probe = await startHostService("bench-probe");
    opened.push(probe);
    const script = Array.from({ length: RUNS + 1 }, (_, index) => agentTurns(index)).flat();
    const apis = {
      container: await startFakeMessagesApi({ host: "0.0.0.0", tls: testTls(), script }),
      gvisor: await startFakeMessagesApi({ host: "0.0.0.0", tls: testTls(), script }),
    };
    opened.push(apis.container, apis.gvisor);
    for (const isolation of ISOLATIONS) workspaces[isolation] = benchRepository();
    const deployed = await suite.deploy(
      STACK,
      liveConfig({
        sandboxes: ISOLATIONS.map((isolation) =>
          sandboxEntry({ name: SANDBOX[isolation], workspace: workspaces[isolation]!, probe, apiPort: apis[isolation].port, extra: { isolation } }),
        ),
        runs: ISOLATIONS.map((isolation) => ({
          name: `edit-${SANDBOX[isolation]}`,
          sandbox: SANDBOX[isolation],
          prompt: PROMPT,
          maxTurns: 10,
          allowedTools: ["Bash"],
        })),
        anthropicApiKey: secretConfig(`bench-key-${process.pid}`),
      }),
    );
    for (const isolation of ISOLATIONS) checkRunWork(workspaces[isolation]!, 0, String(runOf(deployed.resources, isolation).outputs.stdout));

    const checks: { [isolation in Isolation]: number[] } = { container: [], gvisor: [] };
    const healthy = await repeated(RESTARTS, async (isolation) => {
      const container = names(isolation).container;
      docker(["restart", "-t", "5", container]);
      const state = await waitHealthy(container, 120_000);
      if (state.State.Health?.Status !== "healthy") throw new Error(`${container} did not become healthy again: ${JSON.stringify(state.State)}`);
      const measured = startToHealthy(container);
      checks[isolation].push(measured.checkSeconds);
      return measured.seconds;
    });
    logSamples("start-to-healthy", healthy);
    logSamples("first passing health check's own duration", checks);
    const interval = (JSON.parse(docker(["inspect", names(Isolation.Container).container]))[0].Config.Healthcheck?.Interval ?? 0) / 1e9;
    pairRow(
      `sandbox start-to-healthy after docker restart (the first check runs ${interval} s after the start), median of ${RESTARTS}`,
      medians(healthy),
      seconds,
      1.5,
    );
    pairRow("of which the first passing health check itself", medians(checks), seconds);

    // Idle: freshly restarted, healthy, and left alone a moment.
    await new Promise((done) => setTimeout(done, 10_000));
    recordMemory(record, pairRow);

    const runs = await repeated(RUNS, async (isolation, index) => {
      const started = Date.now();
      const result = await rerunCreate(runOf(deployed.resources, isolation));
      const elapsed = secondsSince(started);
      checkRunWork(workspaces[isolation]!, index + 1, result.stdout);
      return elapsed;
    });
    logSamples("agent run", runs);
    pairRow(`scripted agent run (real Claude Code CLI, stand-in API: Bash, Write, Read, Edit, Bash), median of ${RUNS}`, medians(runs), seconds, 1.3);

    const statusTimes: { [isolation in Isolation]: number[] } = { container: [], gvisor: [] };
    const commitTimes: { [isolation in Isolation]: number[] } = { container: [], gvisor: [] };
    const gitTotals = await repeated(ROUNDS, async (isolation, round) => {
      const container = names(isolation).container;
      const user = JSON.parse(docker(["inspect", container]))[0].Config.User as string;
      const result = await execIn(container, gitRound(round), { user, timeoutMs: 600_000 });
      const [, status, commit, files] = /^(\d+) (\d+) +(\d+) files? changed/.exec(result.output.trim()) ?? [];
      if (result.exitCode !== 0 || Number(files) < CHANGED_PER_ROUND) throw new Error(`git round ${round} in ${container} failed: ${JSON.stringify(result)}`);
      statusTimes[isolation].push(Number(status) / 1e9);
      commitTimes[isolation].push(Number(commit) / 1e9);
      return (Number(status) + Number(commit)) / 1e9;
    });
    logSamples("git status", statusTimes);
    logSamples("git add -A && git commit", commitTimes);
    pairRow(`git status, ${REPOSITORY_FILES / 1000}k-file repository (inside the sandbox, as the agent), median of ${ROUNDS}`, medians(statusTimes), seconds);
    pairRow(`git add -A && git commit of ${CHANGED_PER_ROUND} changed files, same repository, median of ${ROUNDS}`, medians(commitTimes), seconds);
    pairRow(`file-heavy task: git status + commit, median of ${ROUNDS}`, medians(gitTotals), seconds, 2);
  } finally {
    await suite.teardown();
    for (const service of opened) await service.close();
    for (const workspace of Object.values(workspaces)) fs.rmSync(workspace, { recursive: true, force: true });
  }
}

/** The run command the program declared for the sandbox of `isolation`. */
function runOf(resources: readonly RealizedResource[], isolation: Isolation): RealizedResource {
  const run = resources.find((resource) => resource.type === "command:local:Command" && resource.name === `run-edit-${SANDBOX[isolation]}`);
  if (!run) throw new Error(`the deploy declared no run command for the ${SANDBOX[isolation]} sandbox`);
  return run;
}

/**
 * docker stats of the three containers, plus the runtime's processes outside their cgroups (the shims); the
 * runtime's processes inside the sandbox's cgroup (runsc's) are shown by PSS too, since the cgroup is not
 * charged for all of their pages.
 */
function recordMemory(record: Recorder, pairRow: ReturnType<typeof pairRecorder>): void {
  const totals = { container: 0, gvisor: 0 };
  const cgroups = { container: 0, gvisor: 0 };
  for (const isolation of ISOLATIONS) {
    const objects = names(isolation);
    const parts = [objects.container, objects.proxyContainer, objects.credentialProxy].map((container) => ({
      stats: memoryOf(container),
      runtime: runtimeProcessesOf(container),
    }));
    const outside = parts.reduce((sum, part) => sum + part.runtime.outside.mib, 0);
    cgroups[isolation] = parts.reduce((sum, part) => sum + part.stats, 0);
    totals[isolation] = cgroups[isolation] + outside;
    const inside = parts[0].runtime.inside;
    record(
      `idle memory under ${isolation === Isolation.Gvisor ? "gVisor" : "runc"}: sandbox / egress proxy / credential proxy (docker stats); the three's shims (PSS); the runtime's processes in the sandbox's cgroup (PSS)`,
      `${parts.map((part) => formatMiB(part.stats)).join(" / ")}; ${formatMiB(outside)}; ${inside.processes.length ? `${formatMiB(inside.mib)} (${inside.processes.join(", ")})` : "none"}`,
    );
  }
  pairRow("idle memory of sandbox + both proxies, docker stats only", cgroups, formatMiB);
  pairRow("idle memory of sandbox + both proxies, docker stats + the runtime's processes outside the cgroups", totals, formatMiB, 2);
}
