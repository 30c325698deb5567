/**
 * Re-records tests/fixtures/opencode-stream/ from the real CLI against the local Messages API stand-in:
 *   npx tsx testkit/live/record-opencode-fixtures.ts
 * Needs the unpacked package under AGENT_CLIS_DIR (see agent-clis.ts). Runs in a fixed directory under /tmp
 * so the paths in the fixtures stay the same between recordings; the resumed and forked runs continue the
 * first run's session there.
 */
import fs from "node:fs";
import path from "node:path";
import { parseOpencodeRun } from "../../components/agents/opencode/run-json";
import { opencodeBinary } from "./agent-clis";
import { OPENCODE_SCENARIOS, runOpencodeScenario } from "./opencode-scenarios";

const fixturesDir = path.resolve(__dirname, "../../tests/fixtures/opencode-stream");
const recordingRoot = "/tmp/agent-sandbox-fixtures";

async function main(): Promise<void> {
  const cli = opencodeBinary();
  if (!cli.found) throw new Error(`cannot record fixtures: ${cli.reason}`);
  fs.rmSync(recordingRoot, { recursive: true, force: true });
  try {
    let firstSession: string | undefined;
    for (const scenario of Object.values(OPENCODE_SCENARIOS)) {
      const run = await runOpencodeScenario(cli.binary, scenario, recordingRoot, firstSession);
      firstSession ??= parseOpencodeRun(run.stdout).sessionId;
      fs.writeFileSync(path.join(fixturesDir, `${scenario.name}.ndjson`), run.stdout);
      console.log(`${scenario.name}: exit ${run.exitCode}, ${run.requests.length} API requests, stderr ${JSON.stringify(run.stderr)}`);
      if (run.credentialProblems.length > 0) console.log(`  credential problems: ${run.credentialProblems.join("; ")}`);
    }
  } finally {
    fs.rmSync(recordingRoot, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
