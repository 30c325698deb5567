/** The one place that chooses where a stack's sandboxes run: its cluster when its config has `kubernetes`, else its Docker engine. */
import { clusterSite } from "./cluster-site";
import { engineSite } from "./engine-site";
import type { SandboxSite } from "./sandbox-site";
import type { OpsStack } from "./stack-outputs";

export function siteFor(stack: OpsStack, env: NodeJS.ProcessEnv = process.env): SandboxSite {
  return stack.cluster ? clusterSite(stack.cluster) : engineSite(stack, env);
}
