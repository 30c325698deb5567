/**
 * The sections of the stack config, as zod schemas: a sandbox (with its resources, mounts, healthcheck
 * and egress), the agent image, a run, the Docker host. Every key's default and message lives here, what
 * each key means in args.ts (the component's documented arguments, which these schemas validate); the
 * rules across keys are in sandbox-rules.ts and schema.ts.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { Agent, IMAGE_AGENT } from "../agents";
import { apiUpstreamSchema } from "../credentials/config";
import { egressConfigSchema } from "../egress/policy";
import { AgentAuth, BuildCacheType, Platform, RestartPolicy, SandboxMode } from "./choices";
import { count, strictObject } from "./errors";
import { UnsafeSetting } from "./unsafe-settings";
import { absolutePath, age, duration, MIN_CPUS, MIN_MEMORY_MB, objectName, size, workspacePath } from "./values";

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

export const sandboxSchema = strictObject({
  name: objectName,
  workspace: absolutePath("/home/me/code/project"),
  mode: z.enum(SandboxMode).default(SandboxMode.ReadWrite),
  agent: z
    .enum(Agent, {
      error: `must be an agent this version knows: ${Object.values(Agent)
        .map((name) => JSON.stringify(name))
        .join(", ")}`,
    })
    .default(Agent.Claude),
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

/** The largest UID/GID Linux holds: 2^32 - 1 is reserved as "no ID". */
const MAX_ID = 2 ** 32 - 2;

const registrySchema = strictObject({
  address: z
    .string()
    .regex(/^[a-z0-9.-]+(:\d+)?$/i, { error: 'must be a registry host like "ghcr.io" or "127.0.0.1:5000" (no scheme, no path)' })
    .refine(
      (address) => {
        const port = Number(address.split(":")[1] ?? 443);
        return port >= 1 && port <= 65535;
      },
      { error: 'has a port outside 1-65535; use e.g. "127.0.0.1:5000"' },
    ),
  repository: z
    .string()
    .regex(/^[a-z0-9]+([._/-][a-z0-9]+)*$/, { error: 'must be a lowercase repository path like "my-team/agent-sandbox"' })
    .default("agent-sandbox/agent"),
  username: z.string().min(1).optional(),
});

const cacheSchema = z.discriminatedUnion("type", [
  strictObject({ type: z.literal(BuildCacheType.Local), dir: absolutePath("/home/me/.cache/agent-sandbox") }),
  strictObject({ type: z.literal(BuildCacheType.Registry), ref: z.string().min(1) }),
]);

export const imageSchema = strictObject({
  baseImage: z.string().min(1).default("debian:bookworm-slim"),
  builderImage: z.string().min(1).default("node:22-bookworm-slim"),
  agentVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, { error: `must be an exact version like "${IMAGE_AGENT.defaultVersion}"` })
    .default(IMAGE_AGENT.defaultVersion),
  toolchains: z.array(z.string().regex(/^[a-z0-9][a-z0-9.+-]*$/, { error: 'must be a Debian package name like "python3"' })).default([]),
  agentUid: count(1000, 1, "a non-root UID; see runAsRoot to run as root", MAX_ID).default(1000),
  agentGid: count(1000, 1, "a non-root GID", MAX_ID).default(1000),
  platforms: z.array(z.enum(Platform)).default([]),
  registry: registrySchema.optional(),
  push: z.boolean().default(false),
  cache: cacheSchema.optional(),
  extraCaCertsFile: absolutePath("/etc/ssl/certs/ca-certificates.crt").optional(),
}).prefault({});

export const runSchema = strictObject({
  name: objectName,
  sandbox: objectName,
  prompt: z.string().min(1, { error: "must not be empty" }),
  maxTurns: count(20, 1).default(20),
  model: z.string().min(1).optional(),
  allowedTools: z.array(z.string().min(1)).default([]),
  triggers: z.array(z.string()).default([]),
  ephemeral: z.boolean().default(false),
  // The most a person would look through; more is a leak of containers, not a history.
  keepFinished: count(0, 0, "finished containers kept for inspection", 100).default(0),
  resume: objectName.optional(),
  fork: z.boolean().default(false),
});

export const dockerHostSchema = strictObject({
  host: z.string().regex(/^(unix|ssh|tcp):\/\/.+/, { error: 'must be a URL like "ssh://me@build-box" or "tcp://build-box:2376"' }),
  certPath: absolutePath("/home/me/.docker/build-box").optional(),
});

/** When `npm run status` reports a sandbox as due for refresh (a new container, same home volume and workspace). */
export const refreshSchema = strictObject({
  maxAge: age("72h").default("72h"),
  maxDiskPercent: count(80, 1, "percent of the workspace disk", 100).default(80),
  maxMemoryPercent: count(90, 1, "percent of the memory limit", 100).default(90),
}).prefault({});

export type SandboxConfig = z.infer<typeof sandboxSchema>;
export type ImageConfig = z.infer<typeof imageSchema>;
/** A validated run; its prompt and triggers may be outputs of other resources (resolve-args.ts puts them back). */
export type RunConfig = Omit<z.infer<typeof runSchema>, "prompt" | "triggers"> & { prompt: pulumi.Input<string>; triggers: pulumi.Input<string>[] };
export type RefreshConfig = z.infer<typeof refreshSchema>;
export type DockerHostConfig = z.infer<typeof dockerHostSchema>;

/** True when the image is built for several platforms and so must be pushed as a multi-arch index. */
export function isMultiArch(image: ImageConfig): boolean {
  return image.platforms.length > 1;
}
