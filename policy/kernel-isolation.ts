/**
 * kernel-isolation: the stacks a team names must run every sandbox under gVisor, so that the kernel a
 * hijacked agent attacks is gVisor's and not the host's. Configured per pack run (`--policy-pack-config`,
 * policy/team-config.json for the team stack); with no stacks named it asks nothing, since the component's
 * own default (isolation: container) must stay deployable on engines without runsc. Pure: tests call it.
 */
import { ROLE_LABEL } from "../components/engine/naming";
import { GVISOR_RUNTIME } from "../components/hardening/isolation";
import { asArray, asRecord, asString } from "./container-inputs";

/** `{"kernel-isolation": {"stacks": ["team", "prod-*"]}}`: stack names, `*` matching any run of characters. */
export interface KernelIsolationConfig {
  readonly stacks?: readonly string[];
}

/** The stack a resource belongs to, from its URN (`urn:pulumi:<stack>::<project>::…`). */
export function stackOfUrn(urn: string): string | undefined {
  return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1];
}

function matches(stack: string, pattern: string): boolean {
  const escaped = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`).test(stack);
}

/** Why a sandbox container of `stack` breaks the rule, or nothing. Proxies (role-labelled) run no agent code and stay on runc. */
export function kernelIsolationViolations(inputs: Record<string, unknown>, stack: string | undefined, config: KernelIsolationConfig): string[] {
  const patterns = config.stacks ?? [];
  if (stack === undefined || !patterns.some((pattern) => matches(stack, pattern))) return [];
  if (asArray(inputs.labels).some((label) => asString(asRecord(label).label) === ROLE_LABEL)) return [];
  const runtime = asString(inputs.runtime);
  if (runtime === GVISOR_RUNTIME) return [];
  return [
    `runtime is ${runtime ?? "the engine's default (runc: the host's kernel)"}, but stack "${stack}" must run its sandboxes under gVisor (policy config kernel-isolation.stacks); set isolation: "gvisor" on the sandbox, on an engine with runsc registered (docs/security-model.md, "A kernel of its own")`,
  ];
}
