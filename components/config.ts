/**
 * Stack configuration: one zod schema is the single source of truth for every key, its default and its
 * error message. `parseStackConfig` is pure (tests call it directly); `loadStackConfig` reads Pulumi config.
 */
import * as path from "node:path";
import { z } from "zod";
import { ConfigError, count, formatIssuePath, strictObject } from "./config-error";
import { egressConfigSchema, PROBE_ALLOWED_ENV, PROBE_DENIED_ENV, proxyEnvironment } from "./egress";
import { sandboxObjects, STACK_OBJECTS, type EngineObject } from "./naming";
import { judgeHostBind, looksLikeCredentialPath, SECRETS_PATH, type UnsafeAcknowledgement } from "./host-paths";
import { MAX_DISK_PERCENT_ENV, OWN_MOUNT_TARGETS } from "./sandbox-contract";

export { ConfigError } from "./config-error";

export const CONFIG_NAMESPACE = "agent-sandbox";

/**
 * Names a sandbox may list under `acknowledgeUnsafe` to accept a setting that weakens isolation. The
 * container-level ones are shared with the policy pack (components/host-paths.ts), which reads them back
 * from the container's acknowledgement label; open egress is a network matter the policy cannot see.
 */
export const UNSAFE_ITEMS: Record<UnsafeAcknowledgement | "open-egress", string> = {
  "docker-socket": "mounting the Docker socket gives the agent root on the host",
  privileged: "privileged mode gives the agent every host device and capability",
  "host-network": "the host network lets the agent reach every service on the host and its networks",
  "host-pid": "the host PID namespace lets the agent see and signal host processes",
  "host-ipc": "the host IPC namespace exposes host shared memory",
  "host-userns": "the host user namespace undoes user-namespace remapping",
  "added-capabilities": "added capabilities widen what a compromised agent can do to the kernel",
  "root-user": "running as root inside the sandbox makes every container escape a host root escape",
  "host-root-mount": "mounting / exposes the whole host filesystem",
  "home-folder-mount": "mounting your whole home folder exposes every key and token you own",
  "open-egress": "open egress lets the agent send your code anywhere",
};
export type UnsafeItem = keyof typeof UNSAFE_ITEMS;
const unsafeItemNames = Object.keys(UNSAFE_ITEMS) as [UnsafeItem, ...UnsafeItem[]];

/** The agents we know how to run; each maps to a CLI and its non-interactive flags in agent-run.ts. */
export const AGENTS = ["claude"] as const;

/** Claude Code ships native binaries for these two only. */
export const SUPPORTED_PLATFORMS = ["linux/amd64", "linux/arm64"] as const;

/** CPUs a sandbox gets when its config does not say (capped at the Docker host's own count). */
export const DEFAULT_CPUS = 4;

const SIZE_PATTERN = /^(\d+)([kmg])$/i;
const BYTES_PER_UNIT: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const BYTES_PER_MB = 1024 ** 2;

/** Docker refuses a memory limit under 6 MiB (the daemon's minimum) and reads 0 as "no limit at all". */
export const MIN_MEMORY_MB = 6;
/** Docker's smallest CPU quota: `--cpus` is refused below 0.01. */
export const MIN_CPUS = 0.01;

function sizeToBytes(size: string): number {
  const match = SIZE_PATTERN.exec(size);
  if (!match) throw new Error(`"${size}" is not a size`);
  return Number(match[1]) * BYTES_PER_UNIT[match[2].toLowerCase()];
}

/** "8g" → 8192, "512m" → 512: Docker's own size syntax, in the MB unit the docker provider takes, rounded up (never toward 0, "no limit"). */
export function sizeToMegabytes(size: string): number {
  return Math.ceil(sizeToBytes(size) / BYTES_PER_MB);
}

/** A Docker size; `minimumMb` is the least the engine enforces (0: none, as for swap). */
const size = (example: string, minimumMb = 0) =>
  z.string({ error: `must be a size like ${example}` }).superRefine((value, ctx) => {
    if (!SIZE_PATTERN.test(value)) {
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} is not a size; use ${example}` });
    } else if (minimumMb > 0 && sizeToBytes(value) === 0) {
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} would remove the limit (Docker reads 0 as unlimited); use at least "${minimumMb}m", e.g. ${example}` });
    } else if (sizeToBytes(value) < minimumMb * BYTES_PER_MB) {
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} is below ${minimumMb}m, the smallest limit Docker enforces; use e.g. ${example}` });
    }
  });

const NAME_PATTERN = /^[a-z]([a-z0-9-]{0,29}[a-z0-9])?$/;
const sandboxName = z
  .string({ error: 'must be a name like "main"' })
  .regex(NAME_PATTERN, { error: 'must be lowercase letters, digits and dashes, starting with a letter and not ending with a dash (e.g. "main")' });

const absolutePath = (example: string) =>
  z.string({ error: `must be an absolute path like "${example}"` }).refine((value) => path.isAbsolute(value), {
    error: (issue) => `${JSON.stringify(issue.input)} is not an absolute path; use e.g. "${example}"`,
  });

const CPUS_PROBLEM = `must be a number of CPUs of at least ${MIN_CPUS}, the smallest share Docker enforces (e.g. 4 or 0.5)`;

const resourcesSchema = strictObject({
    /** CPUs the sandbox may use, fractions allowed. Unset: DEFAULT_CPUS, or all of the host's when it has fewer. */
    cpus: z.number({ error: CPUS_PROBLEM }).min(MIN_CPUS, { error: CPUS_PROBLEM }).optional(),
    /** Memory limit in Docker size syntax. */
    memory: size('"8g" or "512m"', MIN_MEMORY_MB).default("8g"),
    /** Swap on top of memory; "0m" means none, so a runaway agent is OOM-killed rather than thrashing the host. */
    swap: size('"0m" or "2g"').default("0m"),
    /** Most processes and threads alive at once inside the sandbox: a fork bomb stops here. */
    pids: count(1024, 32, "the agent CLI alone runs a dozen threads").default(1024),
    /** Open files per process (RLIMIT_NOFILE, soft = hard); the host's fs.nr_open is the ceiling (host checks). */
    openFiles: count(8192, 256).default(8192),
  })
  .prefault({});

const extraMountSchema = strictObject({
    /** Absolute folder or file on the Docker host. */
    source: absolutePath("/home/me/.npmrc"),
    /** Absolute path inside the sandbox. */
    target: absolutePath("/home/agent/.npmrc"),
    /** Read-only unless said otherwise. */
    readOnly: z.boolean().default(true),
  });

const DURATION_PATTERN = /^(\d+)(ms|s|m)$/;
const MILLISECONDS_PER_UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** "15s" → 15000: the healthcheck duration syntax the config accepts. */
export function durationToMilliseconds(duration: string): number {
  const match = DURATION_PATTERN.exec(duration);
  if (!match) throw new Error(`"${duration}" is not a duration`);
  return Number(match[1]) * MILLISECONDS_PER_UNIT[match[2]];
}

// Docker reads a zero healthcheck duration as "inherit": the image's (a 15s start period) or its own 30s default.
const duration = (example: string) =>
  z
    .string({ error: `must be a duration like "${example}"` })
    .superRefine((value, ctx) => {
      if (!DURATION_PATTERN.test(value)) ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} is not a duration; use e.g. "${example}" (units ms, s, m)` });
      else if (durationToMilliseconds(value) === 0) {
        ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} would make Docker use the image's or its own default instead; use at least "1ms", e.g. "${example}"` });
      }
    })
    .default(example);

const healthcheckSchema = strictObject({
    // Docker before 25 runs the first check only after one interval, so this is also the least start time.
    interval: duration("15s"),
    timeout: duration("10s"),
    startPeriod: duration("5s"),
    // 0 would mean "inherit the image's retries" to Docker.
    retries: count(3, 1).default(3),
    /** The sandbox turns unhealthy when /workspace or the home volume is fuller than this. */
    maxDiskPercent: count(95, 1, "percent of the disk", 100).default(95),
  })
  .prefault({});

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_LOOKING_ENV = /(KEY|TOKEN|SECRET|PASSWORD)$/i;

const sandboxSchema = strictObject({
    name: sandboxName,
    /** The developer's code folder on the Docker host, mounted at /workspace. */
    workspace: absolutePath("/home/me/code/project"),
    /** rw lets the agent edit your code; ro makes it read-only (reviews, questions). */
    mode: z.enum(["rw", "ro"]).default("rw"),
    agent: z.enum(AGENTS).default("claude"),
    resources: resourcesSchema,
    mounts: z.array(extraMountSchema).default([]),
    /** Plain environment for the sandbox. Secrets never go here: use `pulumi config set --secret`. */
    env: z.record(z.string(), z.string()).default({}),
    healthcheck: healthcheckSchema,
    restart: z.enum(["no", "on-failure", "unless-stopped", "always"]).default("unless-stopped"),
    /** How the sandbox reaches the network: through an allowlist proxy (default), not at all, or openly. */
    egress: egressConfigSchema,
    dockerSocket: z.boolean().default(false),
    privileged: z.boolean().default(false),
    hostNetwork: z.boolean().default(false),
    hostPid: z.boolean().default(false),
    hostIpc: z.boolean().default(false),
    capAdd: z.array(z.string().regex(/^[A-Z_]+$/, { error: 'must be a capability name like "NET_BIND_SERVICE"' })).default([]),
    runAsRoot: z.boolean().default(false),
    /** Names the unsafe settings above that you accept for this sandbox, e.g. ["privileged"]. */
    acknowledgeUnsafe: z.array(z.enum(unsafeItemNames)).default([]),
  });

/** The largest UID/GID Linux holds: 2^32 - 1 is reserved as "no ID". */
const MAX_ID = 2 ** 32 - 2;

const registrySchema = strictObject({
    /** Registry host (and port), e.g. "ghcr.io" or "127.0.0.1:5000". */
    address: z
      .string()
      .regex(/^[a-z0-9.-]+(:\d+)?$/i, { error: 'must be a registry host like "ghcr.io" or "127.0.0.1:5000" (no scheme, no path)' })
      .refine((address) => {
        const port = Number(address.split(":")[1] ?? 443);
        return port >= 1 && port <= 65535;
      }, { error: 'has a port outside 1-65535; use e.g. "127.0.0.1:5000"' }),
    /** Repository path under the registry, e.g. "my-team/agent-sandbox". */
    repository: z.string().regex(/^[a-z0-9]+([._/-][a-z0-9]+)*$/, { error: 'must be a lowercase repository path like "my-team/agent-sandbox"' }).default("agent-sandbox/agent"),
    /** User for the registry; its password comes from `pulumi config set --secret registryPassword`. */
    username: z.string().min(1).optional(),
  });

const cacheSchema = z.discriminatedUnion("type", [
  strictObject({ type: z.literal("local"), dir: absolutePath("/home/me/.cache/agent-sandbox") }),
  strictObject({ type: z.literal("registry"), ref: z.string().min(1) }),
]);

const imageSchema = strictObject({
    /** Runtime base of the agent image. */
    baseImage: z.string().min(1).default("debian:bookworm-slim"),
    /** Build stage base; it needs npm to fetch the agent CLI. */
    builderImage: z.string().min(1).default("node:22-bookworm-slim"),
    /** Pinned Claude Code release, so every developer runs the same agent. */
    agentVersion: z.string().regex(/^\d+\.\d+\.\d+$/, { error: 'must be an exact version like "2.1.330"' }).default("2.1.330"),
    /** Debian packages added to the runtime image, e.g. ["python3", "nodejs"]. */
    toolchains: z.array(z.string().regex(/^[a-z0-9][a-z0-9.+-]*$/, { error: 'must be a Debian package name like "python3"' })).default([]),
    /** UID/GID of the agent user: match your host user so files the agent writes stay yours. */
    agentUid: count(1000, 1, "a non-root UID; see runAsRoot to run as root", MAX_ID).default(1000),
    agentGid: count(1000, 1, "a non-root GID", MAX_ID).default(1000),
    /** Empty: the engine's own platform. Two or more: a multi-arch image, pushed to `registry`. */
    platforms: z.array(z.enum(SUPPORTED_PLATFORMS)).default([]),
    registry: registrySchema.optional(),
    /** Push to `registry` (always on for multi-arch builds). */
    push: z.boolean().default(false),
    cache: cacheSchema.optional(),
    /** A PEM bundle of extra CA certificates (e.g. a corporate TLS proxy), passed as a build secret. */
    extraCaCertsFile: absolutePath("/etc/ssl/certs/ca-certificates.crt").optional(),
  })
  .prefault({});

const runSchema = strictObject({
    name: sandboxName,
    sandbox: sandboxName,
    /** Sent to the agent verbatim: quotes, `$(...)` and newlines arrive as written and run nothing. */
    prompt: z.string().min(1, { error: "must not be empty" }),
    maxTurns: count(20, 1).default(20),
    model: z.string().min(1).optional(),
    /** Tools the agent may use without asking, in Claude Code's syntax, e.g. ["Read", "Edit", "Bash(npm test)"]. */
    allowedTools: z.array(z.string().min(1)).default([]),
    /** Values that, when changed, re-run the agent (e.g. a git commit). */
    triggers: z.array(z.string()).default([]),
  });

const dockerHostSchema = strictObject({
    /** unix:///var/run/docker.sock (default), ssh://user@host, or tcp://host:2376 with tls. */
    host: z.string().regex(/^(unix|ssh|tcp):\/\/.+/, { error: 'must be a URL like "ssh://me@build-box" or "tcp://build-box:2376"' }),
    /** Client certificates for tcp://, as files (`docker context` layout). */
    certPath: absolutePath("/home/me/.docker/build-box").optional(),
  });

/** What the checks need to know about the machine, passed in so they stay pure and testable. */
export interface HostContext {
  readonly homeDir: string;
}

/** Refinements run even when sibling fields are invalid, so every problem is reported in one pass. */
const ALWAYS = { when: () => true } as const;

type Refinement<T> = (value: T, ctx: z.RefinementCtx) => void;

/**
 * The whole stack schema. It is built per host because "is this the home folder?" depends on the machine;
 * everything else about it is static.
 */
export function stackConfigSchemaFor(host: HostContext) {
  const sandbox = sandboxSchema.superRefine(refuseUnacknowledgedUnsafe(host) as Refinement<SandboxConfig>, ALWAYS);
  return strictObject({
    /** Shortcut for one sandbox named "main" on this folder. */
    workspace: absolutePath("/home/me/code/project").optional(),
    sandboxes: z.array(sandbox).optional(),
    image: imageSchema.superRefine(imageRegistryRules as Refinement<ImageConfig>, ALWAYS),
    runs: z.array(runSchema).default([]),
    docker: dockerHostSchema.optional(),
  }).superRefine(crossReferenceRules(host) as Refinement<unknown>, ALWAYS);
}

type ParsedConfig = z.infer<ReturnType<typeof stackConfigSchemaFor>>;
export type SandboxConfig = z.infer<typeof sandboxSchema>;
export type ImageConfig = z.infer<typeof imageSchema>;
export type RunConfig = z.infer<typeof runSchema>;
export type DockerHostConfig = z.infer<typeof dockerHostSchema>;
export type StackConfig = Omit<ParsedConfig, "workspace" | "sandboxes"> & { sandboxes: SandboxConfig[] };

/**
 * Validates raw stack config (keys without the `agent-sandbox:` prefix) and applies defaults.
 * Throws one ConfigError listing every problem, each as `key.path: what is wrong (a right value)`.
 */
export function parseStackConfig(raw: Record<string, unknown>, host: HostContext): StackConfig {
  const parsed = stackConfigSchemaFor(host).safeParse(raw);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.flatMap(describeIssue));
  const { workspace, sandboxes, ...rest } = parsed.data;
  return { ...rest, sandboxes: sandboxes ?? [sandboxSchema.parse({ name: "main", workspace })] };
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${formatIssuePath([...issue.path, key])}: ${issue.message}`);
  }
  return [`${formatIssuePath(issue.path)}: ${issue.message}`];
}

/** Fields as they may arrive at an always-run refinement: possibly wrong types, so read defensively. */
type Loose<T> = { [K in keyof T]?: unknown };

const refuseUnacknowledgedUnsafe = (host: HostContext) => (sandbox: Loose<SandboxConfig>, ctx: z.RefinementCtx) => {
  const acknowledged = Array.isArray(sandbox.acknowledgeUnsafe) ? sandbox.acknowledgeUnsafe : [];
  for (const [item, setting] of requestedUnsafeItems(sandbox, host)) {
    if (acknowledged.includes(item)) continue;
    ctx.addIssue({
      code: "custom",
      path: setting,
      message: `refused because ${UNSAFE_ITEMS[item]}; if you accept that, add "${item}" to acknowledgeUnsafe of this sandbox`,
    });
  }
  refuseSensitiveBinds(sandbox, host, ctx);
  refuseMountTargetClashes(sandbox, ctx);
  const egressMode = (sandbox.egress as { mode?: unknown } | undefined)?.mode ?? "allowlist";
  if (sandbox.hostNetwork === true && egressMode !== "open") {
    ctx.addIssue({ code: "custom", path: ["hostNetwork"], message: 'the host network bypasses any egress policy; also set egress.mode: "open" (acknowledged as open-egress)' });
  }
  const env = typeof sandbox.env === "object" && sandbox.env !== null ? sandbox.env : {};
  const ownEnv = sandboxOwnEnv(egressMode);
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) ctx.addIssue({ code: "custom", path: ["env", name], message: 'is not a valid variable name (e.g. "NODE_ENV")' });
    const own = ownEnv.get(name);
    if (own) ctx.addIssue({ code: "custom", path: ["env", name], message: `is set by the sandbox itself (${own}) and would be overwritten; remove it` });
    if (SECRET_LOOKING_ENV.test(name) && value !== "") {
      ctx.addIssue({
        code: "custom",
        path: ["env", name],
        message: "looks like a secret and would be plain in state and docker inspect; use pulumi config set --secret (anthropicApiKey, gitToken)",
      });
    }
  }
};

/** Variables the program sets in a sandbox, each with what for; in allowlist mode the proxy ones too. */
function sandboxOwnEnv(egressMode: unknown): Map<string, string> {
  const own = new Map<string, string>([
    [PROBE_ALLOWED_ENV, "its healthcheck's egress probe; set egress.healthProbe.allowed"],
    [PROBE_DENIED_ENV, "its healthcheck's egress probe; set egress.healthProbe.denied"],
    [MAX_DISK_PERCENT_ENV, "its healthcheck's disk threshold; set healthcheck.maxDiskPercent"],
  ]);
  if (egressMode === "allowlist") for (const name of Object.keys(proxyEnvironment(""))) own.set(name, "the egress proxy's address; egress goes through it in allowlist mode");
  return own;
}

/**
 * Extra mounts may not land where the program mounts the sandbox's own folders (Docker refuses a second
 * mount at one target), nor inside the credentials folder, nor twice at one target.
 */
function refuseMountTargetClashes(sandbox: Loose<SandboxConfig>, ctx: z.RefinementCtx): void {
  const mounts = Array.isArray(sandbox.mounts) ? (sandbox.mounts as { target?: unknown }[]) : [];
  const seen = new Map<string, number>();
  mounts.forEach((mount, index) => {
    if (typeof mount?.target !== "string" || !path.isAbsolute(mount.target)) return;
    const target = path.posix.normalize(mount.target).replace(/(.)\/$/, "$1");
    const key = ["mounts", index, "target"];
    const own = OWN_MOUNT_TARGETS[target];
    if (own) ctx.addIssue({ code: "custom", path: key, message: `${target} is where the sandbox mounts ${own}; choose another target, e.g. "/home/agent/.npmrc" or "/workspace/vendor"` });
    else if (target.startsWith(`${SECRETS_PATH}/`)) ctx.addIssue({ code: "custom", path: key, message: `${target} is inside ${SECRETS_PATH}, the credentials volume; choose another target` });
    else if (seen.has(target)) ctx.addIssue({ code: "custom", path: key, message: `${target} is already the target of mounts[${seen.get(target)}]; one mount per target` });
    seen.set(target, seen.get(target) ?? index);
  });
}

/** The unsafe items a sandbox asks for, each with the path of the config key that asks for it. */
export function requestedUnsafeItems(sandbox: Loose<SandboxConfig>, host: HostContext): Map<UnsafeItem, (string | number)[]> {
  const requested = new Map<UnsafeItem, (string | number)[]>();
  if (sandbox.dockerSocket === true) requested.set("docker-socket", ["dockerSocket"]);
  if (sandbox.privileged === true) requested.set("privileged", ["privileged"]);
  if (sandbox.hostNetwork === true) requested.set("host-network", ["hostNetwork"]);
  if ((sandbox.egress as { mode?: unknown } | undefined)?.mode === "open") requested.set("open-egress", ["egress", "mode"]);
  if (sandbox.hostPid === true) requested.set("host-pid", ["hostPid"]);
  if (sandbox.hostIpc === true) requested.set("host-ipc", ["hostIpc"]);
  if (Array.isArray(sandbox.capAdd) && sandbox.capAdd.length > 0) requested.set("added-capabilities", ["capAdd"]);
  if (sandbox.runAsRoot === true) requested.set("root-user", ["runAsRoot"]);
  for (const bind of bindSources(sandbox)) {
    const item = judgeHostBind(bind.source, host.homeDir, bind.readOnly)?.acknowledgement;
    // A socket bound through mounts is the same request as dockerSocket: true, reported under that key.
    if (item && !requested.has(item)) requested.set(item, item === "docker-socket" ? ["dockerSocket"] : bind.key);
  }
  return requested;
}

interface BindSource {
  readonly source: string;
  readonly readOnly: boolean;
  /** Issue path of the source, relative to the sandbox. */
  readonly key: (string | number)[];
}

function bindSources(sandbox: Loose<SandboxConfig>): BindSource[] {
  const binds: BindSource[] = [];
  if (typeof sandbox.workspace === "string") binds.push({ source: sandbox.workspace, readOnly: sandbox.mode === "ro", key: ["workspace"] });
  const mounts = Array.isArray(sandbox.mounts) ? (sandbox.mounts as { source?: unknown; readOnly?: unknown }[]) : [];
  mounts.forEach((mount, index) => {
    if (typeof mount?.source === "string") binds.push({ source: mount.source, readOnly: mount.readOnly !== false, key: ["mounts", index, "source"] });
  });
  return binds;
}

/**
 * Host paths no acknowledgement makes acceptable: system trees such as /etc or /proc, and credentials
 * mounted read-write. (Acknowledgeable binds — /, the home folder, engine sockets — are requests, above;
 * relative paths are the schema's own error.)
 */
function refuseSensitiveBinds(sandbox: Loose<SandboxConfig>, host: HostContext, ctx: z.RefinementCtx): void {
  for (const bind of bindSources(sandbox)) {
    if (!path.isAbsolute(bind.source)) continue;
    const judgement = judgeHostBind(bind.source, host.homeDir, bind.readOnly);
    if (judgement?.acknowledgement) continue;
    if (judgement) ctx.addIssue({ code: "custom", path: bind.key, message: `refused: ${judgement.reason}` });
    else if (!bind.readOnly && looksLikeCredentialPath(bind.source, host.homeDir)) {
      ctx.addIssue({ code: "custom", path: bind.key, message: `refused: ${bind.source} looks like a credential and would be writable by the agent; mount it with readOnly: true` });
    }
  }
}

function imageRegistryRules(image: Loose<ImageConfig>, ctx: z.RefinementCtx): void {
  const platforms = Array.isArray(image.platforms) ? image.platforms.map(String) : [];
  if (new Set(platforms).size !== platforms.length) {
    ctx.addIssue({ code: "custom", path: ["platforms"], message: `lists a platform twice (${platforms.join(", ")})` });
  }
  if (image.registry !== undefined) return;
  if (platforms.length > 1) {
    ctx.addIssue({
      code: "custom",
      path: ["registry"],
      message: `building for ${platforms.length} platforms (${platforms.join(", ")}) makes a multi-arch image, which only a registry can hold; set image.registry: {address: "ghcr.io", repository: "my-team/agent-sandbox", username: "me"} and pulumi config set --secret registryPassword <password>`,
    });
  }
  if (image.push === true) ctx.addIssue({ code: "custom", path: ["push"], message: 'pushing needs image.registry (e.g. {address: "127.0.0.1:5000"})' });
  const cache = image.cache as { type?: unknown } | undefined;
  if (cache?.type === "registry") ctx.addIssue({ code: "custom", path: ["cache"], message: "a registry cache needs image.registry for its credentials" });
}

const crossReferenceRules = (host: HostContext) => (raw: unknown, ctx: z.RefinementCtx): void => {
  const config = (typeof raw === "object" && raw !== null ? raw : {}) as Loose<ParsedConfig>;
  const sandboxes = Array.isArray(config.sandboxes) ? (config.sandboxes as { name?: unknown }[]) : undefined;
  if (sandboxes && config.workspace !== undefined) {
    ctx.addIssue({ code: "custom", path: ["workspace"], message: "set either workspace (one sandbox named main) or sandboxes, not both" });
  }
  if (typeof config.workspace === "string") {
    // The shortcut's sandbox is built after validation, so its workspace is judged here by the same rules.
    const shortcut = { workspace: config.workspace };
    refuseSensitiveBinds(shortcut, host, ctx);
    for (const [item] of requestedUnsafeItems(shortcut, host)) {
      ctx.addIssue({
        code: "custom",
        path: ["workspace"],
        message: `refused because ${UNSAFE_ITEMS[item]}; point it at one project folder, or declare sandboxes: [...] with acknowledgeUnsafe: [${item}]`,
      });
    }
  }
  if (!sandboxes?.length && config.workspace === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["workspace"],
      message: 'no sandbox configured; run `pulumi config set workspace "$PWD"` or set sandboxes: [{name: main, workspace: /path}]',
    });
  }
  const sandboxNames = sandboxes ? sandboxes.map((sandbox) => sandbox?.name) : ["main"];
  reportDuplicates(sandboxNames, "sandboxes", "sandbox", ctx);
  reportObjectNameCollisions(sandboxNames, ctx);
  const runs = Array.isArray(config.runs) ? (config.runs as { name?: unknown; sandbox?: unknown }[]) : [];
  reportDuplicates(runs.map((run) => run?.name), "runs", "run", ctx);
  runs.forEach((run, index) => {
    if (typeof run?.sandbox === "string" && !sandboxNames.includes(run.sandbox)) {
      ctx.addIssue({
        code: "custom",
        path: ["runs", index, "sandbox"],
        message: `"${run.sandbox}" is not a configured sandbox; use one of: ${sandboxNames.join(", ")}`,
      });
    }
  });
};

function reportDuplicates(names: unknown[], key: string, what: string, ctx: z.RefinementCtx): void {
  names.forEach((name, index) => {
    if (typeof name === "string" && names.indexOf(name) !== index) {
      ctx.addIssue({ code: "custom", path: [key, index, "name"], message: `"${name}" is used twice; ${what} names must be unique` });
    }
  });
}

/**
 * The sandboxes of a stack share its `project-stack-` prefix, so two of their engine objects of one kind
 * collide exactly when their names inside the stack do: sandbox `main-egress`'s container and the egress
 * proxy of `main`. Refused here, naming both, before a deployment would fail half-way on the engine.
 */
function reportObjectNameCollisions(names: unknown[], ctx: z.RefinementCtx): void {
  const owners = new Map<string, string>();
  const keyOf = (object: EngineObject) => `${object.kind}:${object.name}`;
  for (const object of Object.values(STACK_OBJECTS)) owners.set(keyOf(object), `the stack's ${object.role}`);
  const objectsOf = (name: string): EngineObject[] => Object.values(sandboxObjects(name));
  const isFree = (name: string) => !names.includes(name) && objectsOf(name).every((object) => !owners.has(keyOf(object)));
  names.forEach((name, index) => {
    // Malformed names and repeats have messages of their own.
    if (typeof name !== "string" || !NAME_PATTERN.test(name) || names.indexOf(name) !== index) return;
    const clash = objectsOf(name).find((object) => owners.has(keyOf(object)));
    if (clash) {
      const suggestion = Array.from({ length: 99 }, (_, n) => `${name}${n + 2}`).find(isFree);
      ctx.addIssue({
        code: "custom",
        path: ["sandboxes", index, "name"],
        message: `"${name}" would name its ${clash.role} …-${clash.name}, already the name of ${owners.get(keyOf(clash))}; rename one of the two sandboxes${suggestion ? ` (e.g. "${suggestion}" for this one)` : ""}`,
      });
      return;
    }
    for (const object of objectsOf(name)) owners.set(keyOf(object), `sandbox "${name}"'s ${object.role}`);
  });
}

/** True when the image is built for several platforms and so must be pushed as a multi-arch index. */
export function isMultiArch(image: ImageConfig): boolean {
  return image.platforms.length > 1;
}
