/**
 * The stack configuration assembled from the domains' sections (sandbox, image, runs, engine, refresh):
 * one zod schema, the single source of truth for every key, its default and its message, plus the rules
 * across sections (a run names a configured sandbox, sandbox names do not collide on the engine).
 * `parseStackConfig` is pure (tests call it directly); stack-config.ts reads Pulumi config.
 */
import { z } from "zod";
import { dockerHostSchema } from "../engine/config";
import { type EngineObject, STACK_OBJECTS, sandboxObjects } from "../engine/naming";
import { type ImageConfig, imageRegistryRules, imageSchema } from "../image/config";
import { clusterImageRules, clusterSandboxRules, dockerSandboxRules, kubernetesSchema } from "../kubernetes/config";
import { agentOptionRules } from "../runs/agent-options";
import { type RunConfig, runRules, runSchema } from "../runs/config";
import { isolationSchema, type SandboxConfig, sandboxSchema } from "../sandbox/config";
import { agentOf, type HostContext, type Loose, refuseSensitiveBinds, refuseUnacknowledgedUnsafe, requestedUnsafeItems } from "../sandbox/config-rules";
import { refreshSchema } from "../sandbox/refresh-config";
import { UNSAFE_ITEMS } from "../sandbox/unsafe-settings";
import { ConfigError, describeIssue } from "../values/config-error";
import { absolutePath, NAME_PATTERN, strictObject } from "../values/schema";

/** The namespace of the stack's config keys (`agent-sandbox:workspace`). */
export const CONFIG_NAMESPACE = "agent-sandbox";

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
    /** The runtime of every sandbox that does not name its own (the shortcut's too). */
    isolation: isolationSchema.optional(),
    image: imageSchema.superRefine(imageRegistryRules as Refinement<ImageConfig>, ALWAYS),
    runs: z.array(runSchema).default([]),
    docker: dockerHostSchema.optional(),
    kubernetes: kubernetesSchema.optional(),
    refresh: refreshSchema,
  }).superRefine(crossReferenceRules(host) as Refinement<unknown>, ALWAYS);
}

type ParsedConfig = z.infer<ReturnType<typeof stackConfigSchemaFor>>;
/** The stack config as the schema reads it: a run's prompt may still be a file to read (runs/prompt-file.ts). */
export type ParsedStackConfig = Omit<ParsedConfig, "workspace" | "sandboxes"> & { sandboxes: SandboxConfig[] };
/** The validated stack config: every run's prompt known. */
export type StackConfig = Omit<ParsedStackConfig, "runs"> & { runs: RunConfig[] };

/**
 * Validates raw stack config (keys without the `agent-sandbox:` prefix) and applies defaults.
 * Throws one ConfigError listing every problem, each as `key.path: what is wrong (a right value)`.
 */
export function parseStackConfig(raw: Record<string, unknown>, host: HostContext): ParsedStackConfig {
  const parsed = stackConfigSchemaFor(host).safeParse(withStackIsolation(raw));
  if (!parsed.success) throw new ConfigError(parsed.error.issues.flatMap((issue) => describeIssue(issue)));
  const { workspace, sandboxes, isolation, ...rest } = parsed.data;
  return { ...rest, sandboxes: sandboxes ?? [sandboxSchema.parse({ name: "main", workspace, isolation })] };
}

/**
 * The stack's `isolation` given to each listed sandbox that does not name its own, before validation, so
 * the sandbox's own rules (gVisor's minimum memory, its refused networks) judge the runtime it will get.
 */
function withStackIsolation(raw: Record<string, unknown>): Record<string, unknown> {
  const isolation = isolationSchema.safeParse(raw.isolation);
  if (!isolation.success || !Array.isArray(raw.sandboxes)) return raw;
  const sandboxes = raw.sandboxes.map((sandbox) =>
    typeof sandbox === "object" && sandbox !== null && (sandbox as { isolation?: unknown }).isolation === undefined
      ? { ...sandbox, isolation: isolation.data }
      : sandbox,
  );
  return { ...raw, sandboxes };
}

const crossReferenceRules =
  (host: HostContext) =>
  (raw: unknown, ctx: z.RefinementCtx): void => {
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
    targetRules(config, sandboxes, ctx);
    const sandboxNames = sandboxes ? sandboxes.map((sandbox) => sandbox?.name) : ["main"];
    reportDuplicates(sandboxNames, "sandboxes", "sandbox", ctx);
    reportObjectNameCollisions(sandboxNames, ctx);
    const runs = Array.isArray(config.runs) ? (config.runs as { name?: unknown; sandbox?: unknown }[]) : [];
    runRules(runs, ctx);
    reportDuplicates(
      runs.map((run) => run?.name),
      "runs",
      "run",
      ctx,
    );
    // The workspace shortcut's one sandbox runs the default agent.
    agentOptionRules(
      runs,
      (name) => {
        const sandbox = sandboxes ? sandboxes.find((candidate) => candidate?.name === name) : {};
        return sandbox && agentOf(sandbox);
      },
      ctx,
    );
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

/** What the stack's target (a cluster when `kubernetes` is set, else Docker) needs of its sandboxes and image. */
function targetRules(config: Loose<ParsedConfig>, sandboxes: unknown[] | undefined, ctx: z.RefinementCtx): void {
  const listed = (sandboxes ?? []).map((sandbox, index) => ({
    sandbox: (typeof sandbox === "object" && sandbox !== null ? sandbox : {}) as Record<string, unknown>,
    index,
  }));
  if (config.kubernetes === undefined) {
    for (const { sandbox, index } of listed) dockerSandboxRules(sandbox, ctx, ["sandboxes", index]);
    return;
  }
  if (config.workspace !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["workspace"],
      message:
        'is a folder of this machine, which a cluster cannot mount (kubernetes is set); declare sandboxes: [{name: main, repository: "git.example.com/org/repo"}]',
    });
  }
  for (const { sandbox, index } of listed) clusterSandboxRules(sandbox, ctx, ["sandboxes", index]);
  clusterImageRules(typeof config.image === "object" && config.image !== null ? (config.image as Record<string, unknown>) : {}, ctx);
}

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
