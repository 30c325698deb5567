/**
 * One measurement, in its own process so peak memory is this evaluation's alone: evaluates index.ts
 * under the mock monitor with N sandboxes and prints {sandboxes, resources, ms, peakRssMb} as JSON.
 */
import { performance } from "node:perf_hooks";
import { evaluateProgram, makeWorkspace } from "../../tests/support/mock-program";

async function main() {
  // Pulumi records a stack trace per promise; tsx would map each one through source maps, which
  // measures tsx rather than the program (the Pulumi CLI runs the program without that mapping).
  process.setSourceMapsEnabled(false);
  const count = Number(process.argv[2] ?? "1");
  const workspace = makeWorkspace("agent-sandbox-bench-");
  const sandboxes = Array.from({ length: count }, (_, index) => ({ name: `s${index}`, workspace: workspace.dir }));
  const started = performance.now();
  const evaluation = await evaluateProgram({ config: { sandboxes, image: { agentUid: workspace.uid, agentGid: workspace.gid } } });
  const ms = performance.now() - started;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ sandboxes: count, resources: evaluation.resources.length, ms: Math.round(ms), peakRssMb: Math.round(peakRssMb) }));
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
