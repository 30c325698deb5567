/**
 * npm run status [-- --stack NAME] [--json]
 * One row per sandbox of the stack, read from its engine; exits 1 when a sandbox is unhealthy or due for
 * refresh by the stack's `refresh` thresholds, 2 when the stack cannot be read.
 */

import { engineFor, sandboxFacts } from "./engine-facts";
import { OpsError, type OpsStack, readStack, runScript, stackFromArgs } from "./stack-outputs";
import { formatStatusTable, type SandboxFacts, type StatusRow, statusExitCode, statusJson, statusRow } from "./status-report";

/** Every sandbox's row, gathered in parallel (a stats sample takes the engine about a second). */
export async function statusRows(stack: OpsStack, now = new Date()): Promise<StatusRow[]> {
  const engine = engineFor(stack.engine);
  const facts: SandboxFacts[] = await Promise.all(Object.entries(stack.sandboxes).map(([name, info]) => sandboxFacts(engine, name, info)));
  return facts.map((fact) => ({ ...statusRow(fact, stack.refresh, stack.agentImageId, now), riskyChanges: stack.riskyChanges[fact.name] ?? [] }));
}

if (require.main === module) {
  runScript("status", async () => {
    const { stack, rest } = stackFromArgs(process.argv.slice(2));
    const json = rest.includes("--json");
    const unknown = rest.filter((arg) => arg !== "--json");
    if (unknown.length > 0) throw new OpsError(`unknown argument ${unknown[0]}; usage: npm run status -- [--stack NAME] [--json]`);
    const rows = await statusRows(await readStack(stack));
    console.log(json ? statusJson(stack, rows) : formatStatusTable(stack, rows));
    return statusExitCode(rows);
  });
}
