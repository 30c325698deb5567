/**
 * npm run refresh -- <sandbox>… | --due [--stack NAME]
 * Replaces those sandboxes' containers, or on a cluster their pods, through Pulumi: `pulumi up
 * --target-replace` of each container or pod and the commands that re-run with it (start; clone in clone
 * mode or on a cluster), nothing else. The home volume or claim is not replaced, so logins and agent config
 * stay, and the workspace (a bind mount, or the workspace claim) is nothing Pulumi writes. On a cluster,
 * deleting the pod through the API and running `pulumi up` would leave a state that still records the pod,
 * so up would see no change; replacing it through Pulumi keeps the state and the cluster in step.
 */
import { type RefreshReason, refreshReport, type StateResource, sandboxUrns } from "./refresh-plan";
import type { SandboxSite } from "./sandbox-site";
import { siteFor } from "./site-for-stack";
import { OpsError, type OpsStack, pulumiCli, pulumiJson, readStack, runScript, sandboxNamed, stackFromArgs } from "./stack-outputs";
import { statusRows } from "./status";

const USAGE = "npm run refresh -- <sandbox>… | --due [--stack NAME]";

/** The sandboxes to replace, each with why. */
async function chosen(stack: OpsStack, site: SandboxSite, args: string[]): Promise<Map<string, RefreshReason>> {
  if (args.includes("--due")) {
    if (args.length > 1) throw new OpsError(`--due replaces the sandboxes that are due; name sandboxes or give --due, not both (usage: ${USAGE})`);
    const rows = await statusRows(stack, site);
    return new Map(
      rows
        .filter((row) => row.refreshDue)
        .map((row) => [
          row.name,
          { why: row.refreshReasons.map((reason) => reason.detail).join("; "), kinds: row.refreshReasons.map((reason) => reason.kind) },
        ]),
    );
  }
  if (args.length === 0) sandboxNamed(stack, undefined, USAGE);
  for (const arg of args) if (arg.startsWith("-")) throw new OpsError(`unknown argument ${arg}; usage: ${USAGE}`);
  return new Map(args.map((name) => [sandboxNamed(stack, name, USAGE)[0], { why: "asked for by name", kinds: [] }]));
}

if (require.main === module) {
  runScript("refresh", async () => {
    const { stack: stackName, rest } = stackFromArgs(process.argv.slice(2));
    const stack = await readStack(stackName);
    const site = siteFor(stack);
    const { workload } = site;
    const replace = await chosen(stack, site, rest);
    if (replace.size === 0) {
      console.log(`refresh: no sandbox of stack ${stackName} is due`);
      return 0;
    }
    const state = (await pulumiJson(stackName, ["stack", "export"])) as { deployment?: { resources?: StateResource[] } };
    const resources = state.deployment?.resources ?? [];
    const before = new Map<string, string | undefined>();
    const targets: string[] = [];
    for (const name of replace.keys()) {
      const info = stack.sandboxes[name];
      targets.push(...sandboxUrns(resources, workload, info.container, name));
      before.set(name, (await site.presence(info)).id);
    }
    const started = Date.now();
    console.log(
      `refresh: replacing ${[...replace.keys()].join(", ")} of stack ${stackName} (pulumi up --target-replace of each ${workload.noun} and the commands that follow it)`,
    );
    const up = await pulumiCli(["up", "--yes", "--skip-preview", "--stack", stackName, ...targets.flatMap((urn) => ["--target-replace", urn])]);
    if (up.status !== 0) {
      // The old container or pod goes first (deleteBeforeReplace: its name is fixed), so a failed up may leave none: say how to retry.
      const retry = `npm run refresh -- ${[...replace.keys()].join(" ")} --stack ${stackName}`;
      throw new OpsError(
        `pulumi up failed; only these sandboxes' ${workload.noun}s were touched and may be gone until ${retry} succeeds:\n${up.stdout.trim()}\n${up.stderr.trim()}`,
      );
    }
    const seconds = (Date.now() - started) / 1000;
    const replaced = [];
    for (const [name, reason] of replace) {
      const info = stack.sandboxes[name];
      replaced.push({ name, ...reason, homeVolume: info.homeVolume, before: before.get(name), after: (await site.presence(info)).id });
    }
    console.log(refreshReport(stackName, replaced, seconds, workload));
    return 0;
  });
}
