/**
 * Names and labels of engine objects. Physical names carry project and stack so that two developers'
 * stacks on one Docker host never collide; labels make every object discoverable for cleanup.
 */

export const LABEL_PREFIX = "dev.agent-sandbox";
export const MANAGED_BY = "agent-sandbox";

export interface StackIdentity {
  readonly project: string;
  readonly stack: string;
}

/** `agent-sandbox-alice-main`, `agent-sandbox-alice-main-net`: lowercase, Docker- and DNS-safe. */
export function physicalName(identity: StackIdentity, sandbox: string, suffix?: string): string {
  const parts = [identity.project, identity.stack, sandbox, suffix].filter((part): part is string => !!part);
  return parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, "-");
}

/** Labels every object of a sandbox carries: who manages it, and which project, stack and sandbox. */
export function labelsFor(identity: StackIdentity, sandbox?: string): Record<string, string> {
  return {
    [`${LABEL_PREFIX}.managed-by`]: MANAGED_BY,
    [`${LABEL_PREFIX}.project`]: identity.project,
    [`${LABEL_PREFIX}.stack`]: identity.stack,
    ...(sandbox ? { [`${LABEL_PREFIX}.sandbox`]: sandbox } : {}),
  };
}

/** The @pulumi/docker providers take labels as a list of `{label, value}` pairs. */
export function providerLabels(labels: Record<string, string>): { label: string; value: string }[] {
  return Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, value]) => ({ label, value }));
}
