/**
 * Names and labels of engine objects. Physical names carry project and stack so that two developers'
 * stacks on one Docker host never collide; labels make every object discoverable for cleanup.
 */

export const LABEL_PREFIX = "dev.agent-sandbox";
export const MANAGED_BY = "agent-sandbox";
/** What a container is beside its sandbox (egress-proxy, credential-proxy); the sandbox itself has none. */
export const ROLE_LABEL = `${LABEL_PREFIX}.role`;

export interface StackIdentity {
  readonly project: string;
  readonly stack: string;
}

/** `agent-sandbox-alice-main-net` for `main-net` of stack alice: lowercase, Docker- and DNS-safe. */
export function physicalName(identity: StackIdentity, nameInStack: string): string {
  return [identity.project, identity.stack, nameInStack]
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, "-");
}

/** Docker keeps container, network and volume names apart: only names of one kind can collide. */
export type EngineObjectKind = "container" | "network" | "volume";

export interface EngineObject {
  readonly kind: EngineObjectKind;
  /** The name inside the stack; physicalName puts project and stack in front. */
  readonly name: string;
  /** What the object is, for messages. */
  readonly role: string;
}

/**
 * Every engine object a sandbox owns. Components name their objects from this one list, and the config
 * refuses sandbox names whose objects would take another sandbox's names (`main-egress` beside `main`).
 */
export function sandboxObjects(sandbox: string) {
  return {
    container: { kind: "container", name: sandbox, role: "container" },
    network: { kind: "network", name: `${sandbox}-net`, role: "network" },
    home: { kind: "volume", name: `${sandbox}-home`, role: "home volume" },
    clone: { kind: "volume", name: `${sandbox}-clone`, role: "clone volume" },
    proxyContainer: { kind: "container", name: `${sandbox}-egress`, role: "egress proxy container" },
    proxyNetwork: { kind: "network", name: `${sandbox}-egress-net`, role: "egress proxy's outbound network" },
    credentialProxy: { kind: "container", name: `${sandbox}-credential-proxy`, role: "credential proxy container" },
  } as const satisfies Record<string, EngineObject>;
}

/** The objects a stack has once, beside its sandboxes'. */
export const STACK_OBJECTS = {
  credentials: { kind: "volume", name: "credentials", role: "credentials volume" },
  proxySecrets: { kind: "volume", name: "proxy-secrets", role: "credential proxies' secrets volume" },
} as const satisfies Record<string, EngineObject>;

type SandboxObjectRole = keyof ReturnType<typeof sandboxObjects>;

/** Physical names of a sandbox's engine objects: `agent-sandbox-alice-main`, `agent-sandbox-alice-main-egress`, … */
export function sandboxObjectNames(identity: StackIdentity, sandbox: string): Record<SandboxObjectRole, string> {
  const objects: Record<SandboxObjectRole, EngineObject> = sandboxObjects(sandbox);
  return Object.fromEntries(Object.entries(objects).map(([role, object]) => [role, physicalName(identity, object.name)])) as Record<SandboxObjectRole, string>;
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
