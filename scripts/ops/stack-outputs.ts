/**
 * What the ops scripts know of a stack, read through the Pulumi CLI on the project's backend (the way
 * `npm run pulumi` reaches it: scripts/with-local-backend.sh): the sandboxes from its outputs, the image it
 * last built, its refresh thresholds and Docker engine from its config. Every failure is an OpsError whose
 * message says what is wrong and the command that fixes it.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import type { AgentImageInfo, SandboxInfo } from "../../components/agent-sandboxes";
import { readRawConfig } from "../../components/config/stack-config";
import { type EngineClient, engineClient } from "../../components/engine/client";
import { dockerHostSchema } from "../../components/engine/config";
import { kubernetesSchema } from "../../components/kubernetes/config";
import { type ClusterAccess, clusterAccess } from "../../components/kubernetes/kubectl";
import { parseRefreshConfig, type RefreshConfig } from "../../components/sandbox/refresh-config";

const PROJECT_DIR = path.resolve(__dirname, "../..");
/** The stack npm run up provisions when AGENT_SANDBOX_STACK does not name another. */
export const DEFAULT_STACK = "dev";

/** A problem the person can fix; the scripts print its message alone, without a stack trace. */
export class OpsError extends Error {
  override readonly name = "OpsError";
}

export interface OpsStack {
  readonly stack: string;
  readonly sandboxes: Record<string, SandboxInfo>;
  /** The image ID the stack last built (output agentImage.imageId): a sandbox's own `imageId` says which image it should run, when the stack has several agents. */
  readonly agentImageId?: string;
  /** Its manifest digest (output agentImage.digest), which a cluster reports for the pods running it. */
  readonly agentImageDigest?: string;
  readonly refresh: RefreshConfig;
  /** The stack's engine (its `docker.host`, else the local one), which builds its images and, without `cluster`, runs its sandboxes. */
  readonly engine: EngineClient;
  /** The cluster its sandboxes run on as pods, when its config has a `kubernetes` section. */
  readonly cluster?: ClusterAccess;
  /** Per sandbox, the risky files its runs created or changed, as `path (run name)`: the runs' riskyChanges outputs. */
  readonly riskyChanges: Record<string, string[]>;
}

/** The runs' risky-change reports, gathered per sandbox by the runs' config. */
export function riskyChangesBySandbox(runOutputs: unknown, runs: unknown): Record<string, string[]> {
  const reports = (runOutputs ?? {}) as Record<string, { riskyChanges?: unknown }>;
  const bySandbox: Record<string, string[]> = {};
  for (const run of Array.isArray(runs) ? (runs as { name?: unknown; sandbox?: unknown }[]) : []) {
    const changes = reports[String(run?.name)]?.riskyChanges;
    if (typeof run?.sandbox !== "string" || !Array.isArray(changes)) continue;
    bySandbox[run.sandbox] = [...(bySandbox[run.sandbox] ?? []), ...changes.map((change) => `${change} (run ${run.name})`)];
  }
  return bySandbox;
}

/** The command that provisions `stack`, as a person types it. */
export function upCommand(stack: string): string {
  return stack === DEFAULT_STACK ? "npm run up" : `AGENT_SANDBOX_STACK=${stack} npm run up`;
}

/** `--stack NAME` from the arguments, else AGENT_SANDBOX_STACK, else dev; the rest of the arguments apart. */
export function stackFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { stack: string; rest: string[] } {
  const rest = [...argv];
  const at = rest.indexOf("--stack");
  if (at === -1) return { stack: env.AGENT_SANDBOX_STACK || DEFAULT_STACK, rest };
  const stack = rest[at + 1];
  if (!stack || stack.startsWith("-")) throw new OpsError("--stack needs a stack name, e.g. --stack dev");
  rest.splice(at, 2);
  return { stack, rest };
}

export type PulumiRunner = (args: string[]) => Promise<{ status: number | null; stdout: string; stderr: string }>;

/** The real CLI on the project's backend with its passphrase; a backend or passphrase you set wins. */
export const pulumiCli: PulumiRunner = (args) =>
  new Promise((resolve, reject) => {
    const options = { cwd: PROJECT_DIR, encoding: "utf8" as const, maxBuffer: 256 * 1024 * 1024 };
    execFile("bash", ["scripts/with-local-backend.sh", "pulumi", ...args, "--non-interactive"], options, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number")
        reject(new OpsError(`cannot run the Pulumi CLI (${error.message}): see https://www.pulumi.com/docs/install/`));
      else resolve({ status: error ? (error.code as number) : 0, stdout, stderr });
    });
  });

/** Runs `pulumi <args> --stack <stack>` and parses its JSON, turning "no such stack" into the fix. */
export async function pulumiJson(stack: string, args: string[], run: PulumiRunner = pulumiCli): Promise<unknown> {
  const result = await run([...args, "--stack", stack]);
  if (result.status !== 0) {
    if (/no stack named|stack .* not found/i.test(result.stderr)) throw new OpsError(`stack ${stack} does not exist: ${upCommand(stack)} creates it`);
    throw new OpsError(`pulumi ${args.join(" ")} --stack ${stack} failed:\n${result.stderr.trim()}`);
  }
  return JSON.parse(result.stdout || "{}");
}

/** `pulumi config --json` values as the program receives them (`{value}` per key). */
export function configValues(json: unknown): Record<string, string> {
  const entries = Object.entries((json ?? {}) as Record<string, { value?: unknown }>);
  return Object.fromEntries(entries.flatMap(([key, entry]) => (typeof entry?.value === "string" ? [[key, entry.value]] : [])));
}

/** The stack's outputs and the config the ops scripts use, validated; no sandboxes (never brought up) is no error here. */
export function opsStackOf(outputs: Record<string, unknown>, config: Record<string, string>, stack: string): OpsStack {
  const { raw } = readRawConfig(config);
  const refresh = parseRefreshConfig(raw);
  const dockerHost = raw.docker === undefined ? undefined : dockerHostSchema.safeParse(raw.docker);
  if (dockerHost && !dockerHost.success) throw new OpsError(`docker.host: ${dockerHost.error.issues[0].message} (stack ${stack})`);
  const kubernetes = raw.kubernetes === undefined ? undefined : kubernetesSchema.safeParse(raw.kubernetes);
  if (kubernetes && !kubernetes.success) {
    const issue = kubernetes.error.issues[0];
    throw new OpsError(`kubernetes.${issue.path.join(".")}: ${issue.message} (stack ${stack})`);
  }
  const image = outputs.agentImage as AgentImageInfo | undefined;
  return {
    stack,
    sandboxes: (outputs.sandboxOutputs as Record<string, SandboxInfo> | undefined) ?? {},
    agentImageId: image?.imageId,
    agentImageDigest: image?.digest,
    refresh,
    engine: engineClient(dockerHost?.data),
    ...(kubernetes ? { cluster: clusterAccess(kubernetes.data) } : {}),
    riskyChanges: riskyChangesBySandbox(outputs.runOutputs, raw.runs),
  };
}

/** The image a sandbox should run, as its engine or cluster reports the one it runs: the image ID, or on a cluster the digest. */
export function builtImageOf(stack: OpsStack, sandbox: string): string | undefined {
  const info = stack.sandboxes[sandbox];
  return stack.cluster ? (info?.imageDigest ?? stack.agentImageDigest) : (info?.imageId ?? stack.agentImageId);
}

/** As opsStackOf, for a command on the stack's sandboxes: errors name the key and the fix, and a stack without sandboxes is one. */
export function stackFromCli(outputs: Record<string, unknown>, config: Record<string, string>, stack: string): OpsStack {
  const read = opsStackOf(outputs, config, stack);
  if (Object.keys(read.sandboxes).length === 0) throw new OpsError(`stack ${stack} has no sandboxes yet: ${upCommand(stack)}`);
  return read;
}

/** Reads the stack through the CLI: its outputs and its config, both at once. `allowEmpty`: a stack without sandboxes is no error. */
export async function readStack(stack: string, run: PulumiRunner = pulumiCli, options: { allowEmpty?: boolean } = {}): Promise<OpsStack> {
  const [outputs, config] = await Promise.all([pulumiJson(stack, ["stack", "output", "--json"], run), pulumiJson(stack, ["config", "--json"], run)]);
  return (options.allowEmpty ? opsStackOf : stackFromCli)(outputs as Record<string, unknown>, configValues(config), stack);
}

/** Every stack of the project on its backend (`pulumi stack ls --json`), by name. */
export async function listStacks(run: PulumiRunner = pulumiCli): Promise<string[]> {
  const result = await run(["stack", "ls", "--json"]);
  if (result.status !== 0) throw new OpsError(`pulumi stack ls failed:\n${result.stderr.trim()}`);
  const listed: unknown = JSON.parse(result.stdout || "[]");
  if (!Array.isArray(listed)) throw new OpsError(`pulumi stack ls --json printed no list: ${result.stdout.slice(0, 200)}`);
  return listed.map((entry: { name?: unknown }) => String(entry?.name)).sort();
}

/** The sandbox a person named, or the error listing the ones the stack has. */
export function sandboxNamed(stack: OpsStack, name: string | undefined, usage: string): [string, SandboxInfo] {
  const names = Object.keys(stack.sandboxes);
  if (!name) throw new OpsError(`usage: ${usage} (sandboxes of stack ${stack.stack}: ${names.join(", ")})`);
  const info = stack.sandboxes[name];
  if (!info)
    throw new OpsError(
      `stack ${stack.stack} has no sandbox ${name} (it has: ${names.join(", ")}); add it to Pulumi.${stack.stack}.yaml and ${upCommand(stack.stack)}`,
    );
  return [name, info];
}

/** Runs a script's body, printing an OpsError or a ConfigError as its message alone, with exit status 2. */
export async function runScript(name: string, body: () => Promise<number>): Promise<never> {
  try {
    process.exit(await body());
  } catch (error) {
    const known = error instanceof OpsError || (error as Error).name === "ConfigError";
    console.error(known ? `${name}: ${(error as Error).message}` : error);
    process.exit(2);
  }
}
