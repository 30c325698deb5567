/**
 * The fixed choices of the stack config, as `as const` objects: the zod schemas take their values, and
 * Pulumi's component analyzer turns each into an enum of the package schema (so SDKs in other
 * languages get named constants).
 */

/** How the sandbox mounts the workspace. */
export const SandboxMode = {
  /** The agent may edit your code. */
  ReadWrite: "rw",
  /** The workspace is read-only (reviews, questions). */
  ReadOnly: "ro",
  /** The agent works in its own clone of the repository, in a volume; the host repository stays untouched. */
  Clone: "clone",
} as const;
export type SandboxMode = (typeof SandboxMode)[keyof typeof SandboxMode];

/** Docker's restart policy for the sandbox container. */
export const RestartPolicy = {
  No: "no",
  OnFailure: "on-failure",
  UnlessStopped: "unless-stopped",
  Always: "always",
} as const;
export type RestartPolicy = (typeof RestartPolicy)[keyof typeof RestartPolicy];

/** How a sandbox reaches the network. */
export const EgressMode = {
  /** Only through the egress proxy, to allowed names. */
  Allowlist: "allowlist",
  /** An ordinary bridge; needs acknowledgeUnsafe: ["open-egress"]. */
  Open: "open",
  /** No network at all. */
  None: "none",
} as const;
export type EgressMode = (typeof EgressMode)[keyof typeof EgressMode];

/** How the agent in a sandbox authenticates to its API. */
export const AgentAuth = {
  /** The credential proxy beside the sandbox adds the stack's API key; the sandbox holds only a placeholder. */
  Proxy: "proxy",
  /** The agent's own login (OAuth), kept in the sandbox's home volume: weaker, the sandbox holds the token. */
  Subscription: "subscription",
} as const;
export type AgentAuth = (typeof AgentAuth)[keyof typeof AgentAuth];

/** Platforms the agent image can be built for: Claude Code ships native binaries for these two only. */
export const Platform = {
  LinuxAmd64: "linux/amd64",
  LinuxArm64: "linux/arm64",
} as const;
export type Platform = (typeof Platform)[keyof typeof Platform];

/** Where the image build keeps its cache. */
export const BuildCacheType = {
  /** A folder on the machine running Pulumi (`dir`). */
  Local: "local",
  /** A registry reference (`ref`), next to the image. */
  Registry: "registry",
} as const;
export type BuildCacheType = (typeof BuildCacheType)[keyof typeof BuildCacheType];
