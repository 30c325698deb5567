/**
 * Which resources of a stack's state make up a sandbox's container or pod: the container or pod itself and
 * the commands that re-run with it. Pure: refresh.ts reads the state.
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
  readonly outputs?: { name?: unknown; metadata?: { name?: unknown; uid?: unknown } };
}

/** What runs a sandbox, as its stack's state records it and refresh replaces it. */
export interface SandboxWorkload {
  /** What a person calls it: "container", "pod". */
  readonly noun: string;
  /** Where it lives: "on the engine", "on the cluster". */
  readonly where: string;
  /** What keeps its agent's home across a replacement: "home volume", "home claim". */
  readonly home: string;
  readonly type: string;
  readonly nameOf: (resource: StateResource) => unknown;
  /** The value of it that the commands re-running with it hold in their triggers. */
  readonly identityOf: (resource: StateResource) => unknown;
  /** The command beside it that must exist (`<sandbox>-<suffix>`), when it always has one. */
  readonly requiredFollower?: string;
}

/** A Docker sandbox: its container, whose start command (pids limit, health) re-runs with it. */
export const DOCKER_CONTAINER: SandboxWorkload = {
  noun: "container",
  where: "on the engine",
  home: "home volume",
  type: "docker:index/container:Container",
  nameOf: (resource) => resource.outputs?.name,
  identityOf: (resource) => resource.id,
  requiredFollower: "start",
};

/** A sandbox on a cluster: its pod; its clone command, if any, re-runs with it (and finds the clone kept). */
export const CLUSTER_POD: SandboxWorkload = {
  noun: "pod",
  where: "on the cluster",
  home: "home claim",
  type: "kubernetes:core/v1:Pod",
  nameOf: (resource) => resource.outputs?.metadata?.name,
  identityOf: (resource) => resource.outputs?.metadata?.uid,
};

const COMMAND_TYPE = "command:local:Command";

/**
 * URNs of the container or pod named `name` and of the commands beside it that re-run whenever it is
 * replaced (their triggers hold its identity): on Docker the start command (pids limit, health) and, in
 * clone mode, the clone command; on a cluster the clone command. Replacing them together leaves the stack
 * as `pulumi up` would have; the agent runs and the home and workspace volumes or claims are not among them.
 */
export function sandboxUrns(resources: readonly StateResource[], workload: SandboxWorkload, name: string, sandbox: string): string[] {
  const found = resources.find((resource) => resource.type === workload.type && workload.nameOf(resource) === name);
  if (!found) throw new OpsError(`the stack's state has no ${workload.noun} ${name}: run npm run up first`);
  const identity = workload.identityOf(found);
  const followers = resources.filter(
    (resource) =>
      resource.type === COMMAND_TYPE &&
      resource.parent === found.parent &&
      Array.isArray(resource.inputs?.triggers) &&
      resource.inputs.triggers.includes(identity),
  );
  const required = workload.requiredFollower;
  if (required && !followers.some((resource) => resource.urn.endsWith(`::${sandbox}-${required}`))) {
    throw new OpsError(`the stack's state has no ${required} command of ${name} (${sandbox}-${required}): run npm run up first`);
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
  /** Container IDs or pod UIDs before and after; undefined when there was (or is) none. */
  readonly before?: string;
  readonly after?: string;
}

const short = (id: string | undefined) => (id ? id.slice(0, 12) : "(none)");

/** What refresh tells the person: each replacement and why, and what a new container cannot fix. */
export function refreshReport(stack: string, replaced: readonly Replaced[], seconds: number, workload: SandboxWorkload = DOCKER_CONTAINER): string {
  const lines = replaced.flatMap((entry) => [
    `replaced ${entry.name}: ${workload.noun} ${short(entry.before)} → ${short(entry.after)} (${entry.why}); ${workload.home} ${entry.homeVolume} kept`,
    // The workspace is the developer's code: a new container or pod leaves it exactly as full as it was.
    ...(entry.kinds.includes("disk") ? [`  ${entry.name}: its workspace is as full as before (refresh never touches your code); free space there`] : []),
  ]);
  const count = `${replaced.length} sandbox${replaced.length === 1 ? "" : "es"}`;
  return [...lines, `refresh: ${count} of stack ${stack} replaced in ${seconds.toFixed(1)}s`].join("\n");
}
