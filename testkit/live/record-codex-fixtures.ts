/**
 * Re-records tests/fixtures/codex-stream/ from the real CLI against the local Responses API stand-in:
 *   npx tsx testkit/live/record-codex-fixtures.ts
 * Needs the unpacked package under AGENT_CLIS_DIR (see agent-clis.ts). Runs in a fixed directory under /tmp
 * so the paths in the fixtures stay the same between recordings; the resumed and forked runs continue the
 * first run's session there.
 */
import fs from "node:fs";
import path from "node:path";
import { parseCodexExec } from "../../components/agents/codex/exec-jsonl";
import { codexBinary, codexWrapper } from "./agent-clis";
import { CODEX_SCENARIOS, runCodexScenario } from "./codex-scenarios";

const fixturesDir = path.resolve(__dirname, "../../tests/fixtures/codex-stream");
const recordingRoot = "/tmp/agent-sandbox-fixtures";

async function main(): Promise<void> {
  const cli = codexBinary();
  if (!cli.found) throw new Error(`cannot record fixtures: ${cli.reason}`);
  const wrapper = codexWrapper(cli.binary);
  fs.rmSync(recordingRoot, { recursive: true, force: true });
  try {
    let firstSession: string | undefined;
    for (const scenario of Object.values(CODEX_SCENARIOS)) {
      const run = await runCodexScenario(wrapper, scenario, recordingRoot, firstSession);
      firstSession ??= parseCodexExec(run.stdout).sessionId;
      fs.writeFileSync(path.join(fixturesDir, `${scenario.name}.jsonl`), run.stdout);
      console.log(`${scenario.name}: exit ${run.exitCode}, ${run.requests.length} API requests, stderr ${JSON.stringify(run.stderr)}`);
      if (run.credentialProblems.length > 0) console.log(`  credential problems: ${run.credentialProblems.join("; ")}`);
    }
  } finally {
    fs.rmSync(path.dirname(wrapper), { recursive: true, force: true });
    fs.rmSync(recordingRoot, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
