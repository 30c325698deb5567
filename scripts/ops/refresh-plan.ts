/**
 * Which resources of a stack's state make up a sandbox's container: the container itself and the command
 * that starts it (it applies the pids limit and waits for health). Pure: refresh.ts reads the state.
 */
import { OpsError } from "./stack-outputs";

/** The fields of a resource in `pulumi stack export` that refresh reads. */
export interface StateResource {
  readonly urn: string;
  readonly type: string;
  readonly parent?: string;
  readonly outputs?: { name?: unknown };
}

const CONTAINER_TYPE = "docker:index/container:Container";
const COMMAND_TYPE = "command:local:Command";

/** URNs of the container named `container` and of its start command (`<sandbox>-start` beside it). */
export function sandboxUrns(resources: readonly StateResource[], container: string, sandbox: string): [string, string] {
  const found = resources.find((resource) => resource.type === CONTAINER_TYPE && resource.outputs?.name === container);
  if (!found) throw new OpsError(`the stack's state has no container ${container}: run npm run up first`);
  const start = resources.find((resource) => resource.type === COMMAND_TYPE && resource.parent === found.parent && resource.urn.endsWith(`::${sandbox}-start`));
  if (!start) throw new OpsError(`the stack's state has no start command of ${container} (${sandbox}-start): run npm run up first`);
  return [found.urn, start.urn];
}
