/**
 * One measurement, in its own plain `node` process so peak memory is this evaluation's alone: evaluates
 * the program with N sandboxes on a target (`docker`, the default, or `kubernetes`: the same sandboxes as
 * pods in a namespace, their images pushed to a registry, as a cluster pulls them) under the mock monitor
 * and prints {sandboxes, resources, ms, cpuMs, peakRssMb}:
 * cpuMs (user and system, the GC's threads included) says what the evaluation cost where a busy machine
 * stretches ms.
 *
 * The program is loaded the way `pulumi up` loads it: through the Node language host's own `run()`
 * (@pulumi/pulumi/cmd/run), which installs source-map-support, registers ts-node with the project's
 * tsconfig and requires index.ts. Both change what every SDK-recorded stack trace costs, so a faster
 * loader (tsx, source maps off) would measure a program nobody runs.
 *
 * Plain JavaScript because tsx would compile index.ts before ts-node does; tsx is registered only for the
 * moment it takes to load the TypeScript mock harness.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { performance } = require("node:perf_hooks");

const ROOT = path.resolve(__dirname, "../..");

// What cmd/run/index.js does first, before it parses the CLI's arguments and calls run().
require("source-map-support/register");

function loadMockHarness() {
  const unregister = require("tsx/cjs/api").register();
  try {
    return require(path.join(ROOT, "testkit/mock-program.ts"));
  } finally {
    unregister();
  }
}

/** run() from the language host, without executing cmd/run/index.js (it exits unless given an engine address). */
function languageHostRun() {
  const entry = require.resolve("@pulumi/pulumi/cmd/run/index.js");
  // run.js reads one constant from index.js: the exit code for errors already shown to the user.
  require.cache[entry] = { id: entry, filename: entry, loaded: true, exports: { nodeJSProcessExitedAfterLoggingUserActionableMessage: 32 } };
  return require("@pulumi/pulumi/cmd/run/run.js").run;
}

async function main() {
  const count = Number(process.argv[2] ?? "1");
  const target = process.argv[3] ?? "docker";
  const { evaluateProgram, makeWorkspace } = loadMockHarness();
  const run = languageHostRun();
  // What the language host sets for `runtime.options.typescript: true` in Pulumi.yaml.
  process.env.PULUMI_NODEJS_TYPESCRIPT = "true";
  const workspace = makeWorkspace("agent-sandbox-bench-");
  const image = { agentUid: workspace.uid, agentGid: workspace.gid };
  // A cluster cannot bind a host folder: its sandboxes get a claim for the workspace instead.
  const config =
    target === "kubernetes"
      ? {
          kubernetes: { namespace: "agents" },
          sandboxes: Array.from({ length: count }, (_, index) => ({ name: `s${index}` })),
          image: { ...image, registry: { address: "127.0.0.1:5000" }, push: true },
        }
      : { sandboxes: Array.from({ length: count }, (_, index) => ({ name: `s${index}`, workspace: workspace.dir })), image };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const evaluation = await evaluateProgram(
    { config },
    () => {},
    async () =>
      // The program's entry, as Pulumi.yaml's `main` names it (package.json's main is the component plugin).
      (await run(
        { _: [path.join(ROOT, "index.ts")] },
        () => {},
        () => {},
        () => false,
      )) ?? {},
  );
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(
    JSON.stringify({
      sandboxes: count,
      target,
      resources: evaluation.resources.length,
      ms: Math.round(ms),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      peakRssMb: Math.round(peakRssMb),
    }),
  );
  fs.rmSync(workspace.dir, { recursive: true, force: true });
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
