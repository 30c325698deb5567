/**
 * Re-records tests/fixtures/claude-stream/ from the real CLI against the local Messages API stand-in:
 *   npx tsx tests/live/support/record-claude-fixtures.ts
 * Runs in fixed directories under /tmp so the paths in the fixtures stay the same between recordings.
 */
import fs from "node:fs";
import path from "node:path";
import { claudeCliBinary, RECORDED_CLI_VERSION } from "./claude-cli";
import { runScenario, SCENARIOS } from "./claude-scenarios";

const fixturesDir = path.resolve(__dirname, "../../fixtures/claude-stream");
const recordingRoot = "/tmp/agent-sandbox-fixtures";

async function main(): Promise<void> {
  const cli = await claudeCliBinary();
  if (!cli.available) throw new Error(`cannot record fixtures: ${cli.reason}`);
  for (const scenario of Object.values(SCENARIOS)) {
    fs.rmSync(recordingRoot, { recursive: true, force: true });
    const run = await runScenario(cli.binary, scenario, recordingRoot);
    fs.writeFileSync(path.join(fixturesDir, `${scenario.name}.jsonl`), run.stdout);
    console.log(`${scenario.name}: exit ${run.exitCode}, ${run.requests.length} API requests, stderr ${JSON.stringify(run.stderr)}`);
  }
  fs.rmSync(recordingRoot, { recursive: true, force: true });
  console.log(`recorded with Claude Code ${RECORDED_CLI_VERSION}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
