/**
 * Which resources of a stack's state make up a sandbox's container: the container itself and the command
 * that starts it (it applies the pids limit and waits for health). Pure: refresh.ts reads the state.
 */
import { OpsError } from "./stack-outputs";
import type { DueKind } from "./status-report";

/** The fields of a resource in `pulumi stack export` that refresh reads. */
export interface StateResource {
  readonly urn: string;
  readonly type: string;
  readonly id?: string;
  readonly parent?: string;
  readonly inputs?: { triggers?: unknown };
  readonly outputs?: { name?: unknown };
}

const CONTAINER_TYPE = "docker:index/container:Container";
const COMMAND_TYPE = "command:local:Command";

/**
 * URNs of the container named `container` and of the commands beside it that re-run whenever it is
 * replaced (their triggers hold its ID): the start command (pids limit, health) and, in clone mode, the
 * clone command. Replacing them together leaves the stack as `pulumi up` would have; the agent runs, the
 * home and clone volumes are not among them.
 */
export function sandboxUrns(resources: readonly StateResource[], container: string, sandbox: string): string[] {
  const found = resources.find((resource) => resource.type === CONTAINER_TYPE && resource.outputs?.name === container);
  if (!found) throw new OpsError(`the stack's state has no container ${container}: run npm run up first`);
  const followers = resources.filter(
    (resource) =>
      resource.type === COMMAND_TYPE &&
      resource.parent === found.parent &&
      Array.isArray(resource.inputs?.triggers) &&
      resource.inputs.triggers.includes(found.id),
  );
  if (!followers.some((resource) => resource.urn.endsWith(`::${sandbox}-start`))) {
    throw new OpsError(`the stack's state has no start command of ${container} (${sandbox}-start): run npm run up first`);
  }
  return [found.urn, ...followers.map((resource) => resource.urn)];
}

/** Why a sandbox is refreshed: the status report's reasons, or a person naming it. */
export interface RefreshReason {
  readonly why: string;
  readonly kinds: readonly DueKind[];
}

export interface Replaced extends RefreshReason {
  readonly name: string;
  readonly homeVolume: string;
  /** Container IDs before and after; undefined when there was (or is) none. */
  readonly before?: string;
  readonly after?: string;
}

const short = (id: string | undefined) => (id ? id.slice(0, 12) : "(none)");

/** What refresh tells the person: each replacement and why, and what a new container cannot fix. */
export function refreshReport(stack: string, replaced: readonly Replaced[], seconds: number): string {
  const lines = replaced.flatMap((entry) => [
    `replaced ${entry.name}: container ${short(entry.before)} → ${short(entry.after)} (${entry.why}); home volume ${entry.homeVolume} kept`,
    // The workspace is the developer's code: a new container leaves it exactly as full as it was.
    ...(entry.kinds.includes("disk") ? [`  ${entry.name}: its workspace is as full as before (refresh never touches your code); free space there`] : []),
  ]);
  const count = `${replaced.length} sandbox${replaced.length === 1 ? "" : "es"}`;
  return [...lines, `refresh: ${count} of stack ${stack} replaced in ${seconds.toFixed(1)}s`].join("\n");
}
