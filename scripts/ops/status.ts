/**
 * npm run status [-- --stack NAME | --all] [--json]
 * One row per sandbox of the stack, read from its engine or, with `kubernetes` set, its cluster; exits 1 when a sandbox is unhealthy or due for
 * refresh by the stack's `refresh` thresholds, 2 when the stack cannot be read or its engine does not answer.
 * With --all, every stack of the backend, each read on its own engine, in one table; a stack that cannot be
 * read or whose engine does not answer is a row saying so and makes the exit status 1 (2: no stack list).
 */
import { type FleetStack, fleetExitCode, fleetJson, formatFleetTable, stackProblem, stackRows, unreachableRows } from "./fleet-report";
import type { SandboxSite } from "./sandbox-site";
import { siteFor } from "./site-for-stack";
import { listStacks, OpsError, type OpsStack, readStack, runScript, stackFromArgs } from "./stack-outputs";
import { formatStatusTable, type StatusRow, statusExitCode, statusJson } from "./status-report";

const USAGE = "npm run status -- [--stack NAME | --all] [--json]";
/** How many stacks are read at once: each read is two Pulumi CLI processes. */
const STACKS_AT_ONCE = 4;

export type StatusArgs = { readonly all: false; readonly stack: string; readonly json: boolean } | { readonly all: true; readonly json: boolean };

/** The command's flags: --all (every stack) or --stack NAME (one; default $AGENT_SANDBOX_STACK, else dev), and --json. */
export function statusArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): StatusArgs {
  const all = argv.includes("--all");
  if (all && argv.includes("--stack")) throw new OpsError(`--all reads every stack of the backend and takes no --stack; usage: ${USAGE}`);
  const { stack, rest } = all ? { stack: "", rest: [...argv] } : stackFromArgs(argv, env);
  const unknown = rest.filter((arg) => arg !== "--json" && arg !== "--all");
  if (unknown.length > 0) throw new OpsError(`unknown argument ${unknown[0]}; usage: ${USAGE}`);
  const json = rest.includes("--json");
  return all ? { all, json } : { all, stack, json };
}

/** Every sandbox's row, from its engine or cluster. */
export async function statusRows(stack: OpsStack, site: SandboxSite = siteFor(stack), now = new Date()): Promise<StatusRow[]> {
  return stackRows(stack, await site.facts(stack.sandboxes), now);
}

/** One stack as the fleet shows it: its engine or cluster (asked only when it has sandboxes) and its rows; never throws. */
export async function stackReport(stack: OpsStack, now = new Date(), env: NodeJS.ProcessEnv = process.env): Promise<FleetStack> {
  let site: SandboxSite;
  try {
    site = siteFor(stack, env);
  } catch (error) {
    // A cluster's kubeconfig that cannot be read: the stack's row says so, the other stacks go on.
    return { stack: stack.stack, error: (error as Error).message, sandboxes: [] };
  }
  const address = site.address;
  if (Object.keys(stack.sandboxes).length === 0) return { stack: stack.stack, engine: { ...address, reachable: null }, sandboxes: [] };
  const reason = await site.unreachable();
  if (reason !== undefined) return { stack: stack.stack, engine: { ...address, reachable: false, reason }, sandboxes: unreachableRows(stack, now) };
  try {
    return { stack: stack.stack, engine: { ...address, reachable: true }, sandboxes: await statusRows(stack, site, now) };
  } catch (error) {
    return { stack: stack.stack, engine: { ...address, reachable: true }, error: `reading its sandboxes failed: ${(error as Error).message}`, sandboxes: [] };
  }
}

/** `fn` over the items, at most `limit` at a time, the results in the items' order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Every stack of the backend, each read through the CLI and on its own engine; a stack that cannot be read says why. */
export async function fleetStacks(now = new Date()): Promise<FleetStack[]> {
  return mapLimited(await listStacks(), STACKS_AT_ONCE, async (name) => {
    try {
      return await stackReport(await readStack(name, undefined, { allowEmpty: true }), now);
    } catch (error) {
      return { stack: name, error: (error as Error).message, sandboxes: [] };
    }
  });
}

if (require.main === module) {
  runScript("status", async () => {
    const args = statusArgs(process.argv.slice(2));
    if (args.all) {
      const stacks = await fleetStacks();
      console.log(args.json ? fleetJson(stacks) : formatFleetTable(stacks));
      return fleetExitCode(stacks);
    }
    const report = await stackReport(await readStack(args.stack));
    const problem = stackProblem(report);
    if (problem !== undefined) throw new OpsError(problem);
    console.log(args.json ? statusJson(args.stack, report.sandboxes) : formatStatusTable(args.stack, report.sandboxes));
    return statusExitCode(report.sandboxes);
  });
}
