/**
 * The real Pulumi CLI, its Node language host and the real providers, on a throwaway file backend. The
 * program is a copy of the real one (index.ts, components/, docker/, Pulumi.yaml…) in a temporary folder
 * with the checkout's node_modules linked, so stack files and edits a test makes to the copy (a changed
 * Dockerfile) never touch the checkout.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { TestContext } from "vitest";
import { parse, stringify } from "yaml";
import { CONFIG_NAMESPACE } from "../../components/config/stack-schema";
import { CliProject } from "./cli-project";
import { EngineGate } from "./engine";

export { type CliResult, type RunOptions, runCli } from "./cli-project";

const REPOSITORY = path.resolve(__dirname, "../..");
/** What a copy of the program and its npm scripts need; everything else of the checkout stays out of it. */
const PROGRAM_FILES = ["index.ts", "components", "docker", "scripts", "Pulumi.yaml", "package.json", "tsconfig.json"];
export const POLICY_PACK = path.join(REPOSITORY, "policy");

/**
 * The local base images as the real build provider reaches them: its BuildKit builder is not the engine's
 * own, so it cannot see the engine's image store; scripts/setup-engine.sh pushes them to the loopback registry.
 */
export const REGISTRY_BASE_IMAGES = {
  baseImage: "127.0.0.1:5000/agent-sandbox/debian:bookworm-slim",
  builderImage: "127.0.0.1:5000/agent-sandbox/node:bookworm",
} as const;

/** Whether the real CLI is here: `pulumi version` and the plugins the program needs, on PATH. */
export function pulumiAvailability(): { available: true } | { available: false; reason: string } {
  const missing = ["pulumi", "pulumi-language-nodejs", "pulumi-resource-docker", "pulumi-resource-docker-build", "pulumi-resource-command"].filter(
    (binary) => spawnSync("sh", ["-c", `command -v ${binary}`]).status !== 0,
  );
  if (missing.length === 0) return { available: true };
  return { available: false, reason: `no ${missing.join(", ")} on PATH; run scripts/setup-pulumi.sh (it builds them from their Go modules)` };
}

/**
 * The engine gate of the real-engine suites, plus the CLI: without either they skip with the reason,
 * and under REQUIRE_PULUMI=1 (set by .ci/run once scripts/setup-pulumi.sh built everything) a missing CLI fails.
 */
export class PulumiGate extends EngineGate {
  private cliReason?: string;

  async ready(): Promise<boolean> {
    if (!(await this.engineReady())) return false;
    const cli = pulumiAvailability();
    if (cli.available) return true;
    if (process.env.REQUIRE_PULUMI === "1") throw new Error(`REQUIRE_PULUMI=1 but ${cli.reason}`);
    console.warn(`[live] skipped: ${cli.reason}`);
    this.cliReason = cli.reason;
    return false;
  }

  requireCli(context: TestContext): void {
    this.requireEngine(context);
    if (this.cliReason) context.skip(this.cliReason);
  }
}

/** Copies the program into an existing empty folder, with the checkout's node_modules linked. */
export function copyProgram(target: string): void {
  for (const file of PROGRAM_FILES) fs.cpSync(path.join(REPOSITORY, file), path.join(target, file), { recursive: true });
  fs.symlinkSync(path.join(REPOSITORY, "node_modules"), path.join(target, "node_modules"));
}

/** Whether the checkout's git history holds `revision` (a shallow clone may not). */
export function hasRevision(revision: string): boolean {
  return spawnSync("git", ["-C", REPOSITORY, "cat-file", "-e", `${revision}^{commit}`]).status === 0;
}

/**
 * Writes the program as it was at a past commit into an empty folder (its source folder was then
 * `components/`), with the checkout's node_modules linked: how an existing stack's program looked. Files
 * get a checkout's usual modes (umask 022): the build provider hashes modes into the context hash.
 */
export function copyProgramAt(revision: string, target: string): void {
  const files = spawnSync("git", ["-C", REPOSITORY, "ls-tree", "--name-only", revision], { encoding: "utf8" }).stdout.split("\n");
  const wanted = [...PROGRAM_FILES, "components"].filter((file) => files.includes(file));
  const archive = spawnSync("git", ["-C", REPOSITORY, "-c", "tar.umask=0022", "archive", "--format=tar", revision, "--", ...wanted], {
    maxBuffer: 256 * 1024 * 1024,
  });
  if (archive.status !== 0) throw new Error(`git archive ${revision} failed: ${archive.stderr}`);
  const extract = spawnSync("tar", ["-x", "-C", target], { input: archive.stdout });
  if (extract.status !== 0) throw new Error(`tar -x failed: ${extract.stderr}`);
  fs.symlinkSync(path.join(REPOSITORY, "node_modules"), path.join(target, "node_modules"));
}

/** Merges plain config (keys without the namespace) into a stack file, keeping its secrets and salt. */
export function mergeStackConfig(file: string, config: Record<string, unknown>): void {
  const current = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const plain = Object.fromEntries(Object.entries(config).map(([key, value]) => [`${CONFIG_NAMESPACE}:${key}`, value]));
  const kept = Object.fromEntries(Object.entries(current.config ?? {}).filter(([, value]) => typeof value === "object" && value !== null && "secure" in value));
  fs.writeFileSync(file, stringify({ ...current, config: { ...kept, ...plain } }));
}

/** A stack of a copy of the real program on its own file backend, driven by the real CLI. */
export class RealStack extends CliProject {
  private constructor(root: string, stack: string, env: NodeJS.ProcessEnv) {
    // The program's own stack-trace switch: errors shown in test output keep their frames.
    super(root, stack, { AGENT_SANDBOX_STACK_TRACES: "1", ...env });
  }

  /**
   * Copies the program (today's, or the one of `revision`), links node_modules, creates the backend and
   * the stack (passphrase secrets). `env` goes to every command run in it (a PATH of the test's own).
   */
  static async create(stack: string, options: { entry?: string; revision?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RealStack> {
    const created = new RealStack(CliProject.scratch("agent-sandbox-pulumi-"), stack, options.env ?? {});
    if (options.revision) copyProgramAt(options.revision, created.programDir);
    else copyProgram(created.programDir);
    if (options.entry) created.useEntry(options.entry);
    await created.initStack();
    return created;
  }

  /** Runs the program from `entry` (a file in the copy) instead of index.ts, as Pulumi.yaml's `main` says. */
  private useEntry(entry: string): void {
    const file = path.join(this.programDir, "Pulumi.yaml");
    fs.writeFileSync(file, stringify({ ...parse(fs.readFileSync(file, "utf8")), main: entry }));
  }

  /** Replaces the program's files with today's program, keeping the stack file (its config and secrets). */
  useCurrentProgram(): void {
    const stackFile = path.join(this.programDir, `Pulumi.${this.stack}.yaml`);
    const kept = fs.readFileSync(stackFile);
    fs.rmSync(this.programDir, { recursive: true, force: true });
    fs.mkdirSync(this.programDir);
    copyProgram(this.programDir);
    fs.writeFileSync(stackFile, kept);
  }

  /** Writes plain stack config (keys without the namespace) into the stack file, as `pulumi config set --path` would. */
  setConfig(config: Record<string, unknown>): void {
    mergeStackConfig(path.join(this.programDir, `Pulumi.${this.stack}.yaml`), config);
  }

  /** `pulumi config set --secret`, the value on stdin so it is in no command line. */
  async setSecret(key: string, value: string): Promise<void> {
    await this.pulumi(["config", "set", "--secret", `${CONFIG_NAMESPACE}:${key}`], { input: `${value}\n` });
  }

  /** `pulumi preview --json`: the steps the engine would take. */
  async previewSteps(extra: string[] = []): Promise<PreviewStep[]> {
    const { stdout } = await this.pulumi(["preview", "--json", ...extra]);
    return (JSON.parse(stdout) as { steps?: PreviewStep[] }).steps ?? [];
  }

  /** The stack's state file on the file backend, as the engine wrote it. */
  stateText(): string {
    return fs.readFileSync(path.join(this.backendDir, ".pulumi", "stacks", "agent-sandbox", `${this.stack}.json`), "utf8");
  }
}

export interface PreviewStep {
  readonly op: string;
  readonly urn: string;
  /** The inputs whose change caused an update or replacement. */
  readonly diffReasons?: string[];
}

/** Resource types and names of a step's URN: `docker:index/container:Container::main`. */
export const typeAndName = (urn: string): string => {
  const [, , qualifiedType, name] = urn.split("::");
  return `${qualifiedType.split("$").pop()}::${name}`;
};

/** The URNs a preview would replace (delete and create anew). */
export const replacedBy = (steps: PreviewStep[]): string[] =>
  [...new Set(steps.filter((step) => step.op === "replace" || step.op === "create-replacement").map((step) => step.urn))].sort();
