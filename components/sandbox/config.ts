/**
 * The sandbox section of the stack config (`sandboxes[i]`, or the `workspace` shortcut): its zod schema
 * with every key's default and message, its egress and credential keys taken from those domains. What
 * each key means is in args.ts; the rules across keys are in config-rules.ts.
 */
import { z } from "zod";
import { Agent, AgentAuth, DEFAULT_AGENT } from "../agents";
import { apiUpstreamSchema } from "../credentials/config";
import { egressConfigSchema, gitRepoSchema } from "../egress/config";
import { workspaceRelativePath } from "../guardrails/protected-paths";
import { Isolation } from "../hardening/isolation";
import { absolutePath, count, duration, MIN_CPUS, MIN_MEMORY_MB, objectName, size, strictObject } from "../values/schema";
import { UnsafeSetting } from "./unsafe-settings";

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

/** A path inside the workspace, relative to it, e.g. ".git/hooks". */
export const workspacePath = z.string({ error: 'must be a path inside the workspace like ".git/hooks"' }).transform((text, ctx) => {
  const relative = workspaceRelativePath(text);
  if (relative !== undefined) return relative;
  ctx.addIssue({
    code: "custom",
    message: `${JSON.stringify(text)} is not a path inside the workspace; write it relative to the workspace, e.g. ".git/hooks"`,
  });
  return z.NEVER;
});

/** CPUs a sandbox gets when its config does not say (capped at the Docker host's own count). */
export const DEFAULT_CPUS = 4;

const CPUS_PROBLEM = `must be a number of CPUs of at least ${MIN_CPUS}, the smallest share Docker enforces (e.g. 4 or 0.5)`;

export const resourcesSchema = strictObject({
  cpus: z.number({ error: CPUS_PROBLEM }).min(MIN_CPUS, { error: CPUS_PROBLEM }).optional(),
  memory: size('"8g" or "512m"', MIN_MEMORY_MB).default("8g"),
  swap: size('"0m" or "2g"').default("0m"),
  pids: count(1024, 32, "the agent CLI alone runs a dozen threads").default(1024),
  openFiles: count(8192, 256).default(8192),
}).prefault({});

const extraMountSchema = strictObject({
  source: absolutePath("/home/me/.npmrc"),
  target: absolutePath("/home/agent/.npmrc"),
  readOnly: z.boolean().default(true),
});

const healthcheckSchema = strictObject({
  // Docker before 25 runs the first check only after one interval, so this is also the least start time.
  interval: duration("15s"),
  timeout: duration("10s"),
  startPeriod: duration("5s"),
  // 0 would mean "inherit the image's retries" to Docker.
  retries: count(3, 1).default(3),
  maxDiskPercent: count(95, 1, "percent of the disk", 100).default(95),
}).prefault({});

/** A sandbox's runtime; the stack's `isolation` key (every sandbox's default) is judged by the same schema. */
export const isolationSchema = z.enum(Isolation, {
  error: 'must be "container" (the engine\'s default runtime) or "gvisor" (gVisor\'s runsc: a kernel of its own for the agent)',
});

export const sandboxSchema = strictObject({
  name: objectName,
  // Required on Docker, refused on Kubernetes (stack-schema.ts): which one depends on the stack's target.
  workspace: absolutePath("/home/me/code/project").optional(),
  repository: gitRepoSchema.optional(),
  mode: z.enum(SandboxMode).default(SandboxMode.ReadWrite),
  agent: z
    .enum(Agent, {
      error: `must be an agent this version knows: ${Object.values(Agent)
        .map((name) => JSON.stringify(name))
        .join(", ")}`,
    })
    .default(DEFAULT_AGENT),
  auth: z
    .enum(AgentAuth, {
      error: 'must be "proxy" (the credential proxy adds the API key outside the sandbox) or "subscription" (a login kept in the home volume)',
    })
    .default(AgentAuth.Proxy),
  apiUpstream: apiUpstreamSchema.optional(),
  resources: resourcesSchema,
  mounts: z.array(extraMountSchema).default([]),
  env: z.record(z.string(), z.string()).default({}),
  healthcheck: healthcheckSchema,
  restart: z.enum(RestartPolicy).default(RestartPolicy.UnlessStopped),
  isolation: isolationSchema.default(Isolation.Container),
  egress: egressConfigSchema,
  dockerSocket: z.boolean().default(false),
  privileged: z.boolean().default(false),
  hostNetwork: z.boolean().default(false),
  hostPid: z.boolean().default(false),
  hostIpc: z.boolean().default(false),
  capAdd: z.array(z.string().regex(/^[A-Z_]+$/, { error: 'must be a capability name like "NET_BIND_SERVICE"' })).default([]),
  runAsRoot: z.boolean().default(false),
  protectWorkspace: z.boolean({ error: "must be true or false" }).default(true),
  protectedPaths: z.array(workspacePath).default([]),
  unprotect: z.array(workspacePath).default([]),
  cloneCopy: z.array(workspacePath).default([]),
  acknowledgeUnsafe: z.array(z.enum(UnsafeSetting)).default([]),
});

export type SandboxConfig = z.infer<typeof sandboxSchema>;

/** The workspace folder of a sandbox on Docker, which the stack's rules require there (a cluster's sandboxes have none). */
export function hostWorkspace(sandbox: Pick<SandboxConfig, "name" | "workspace">): string {
  if (sandbox.workspace === undefined) throw new Error(`sandbox ${sandbox.name}: a Docker sandbox without a workspace passed validation`);
  return sandbox.workspace;
}
