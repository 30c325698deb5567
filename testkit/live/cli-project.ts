/**
 * Command line tools as the live suites run them, and a Pulumi project folder driven by the real CLI on
 * its own file backend and PULUMI_HOME (passphrase secrets), so nothing touches the user's own.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Return a non-zero exit instead of throwing. */
  readonly allowFailure?: boolean;
  /** Written to the command's stdin. */
  readonly input?: string;
  /** Added to the command's environment. */
  readonly env?: NodeJS.ProcessEnv;
}

/** A command started in its own process group, to be interrupted as a terminal's Ctrl-C or a killed CI job would. */
export interface StartedCommand {
  readonly pid: number;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves with the exit code, or the signal that ended it. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Sends a signal to the whole process group: the CLI, its language host and its providers. */
  signal(signal: NodeJS.Signals): void;
}

export function startCli(command: string, args: string[], where: { cwd: string; env: NodeJS.ProcessEnv }): StartedCommand {
  const child = spawn(command, args, { ...where, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk));
  return {
    pid: child.pid!,
    output: () => output,
    exited: new Promise((resolve) => child.on("close", (code, signal) => resolve(code ?? signal!))),
    signal: (signal) => process.kill(-child.pid!, signal),
  };
}

/** Runs a command line tool; a non-zero exit throws with both streams unless allowed. */
export async function runCli(command: string, args: string[], where: { cwd: string; env: NodeJS.ProcessEnv }, options: RunOptions = {}): Promise<CliResult> {
  const child = run(command, args, { ...where, env: { ...where.env, ...options.env }, maxBuffer: 256 * 1024 * 1024 });
  if (options.input !== undefined) child.child.stdin?.end(options.input);
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as Error & { code?: number; stdout?: string; stderr?: string };
    const result = { code: typeof failed.code === "number" ? failed.code : -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? failed.message };
    if (options.allowFailure) return result;
    throw new Error(`${command} ${args.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  }
}

export class CliProject {
  /** The project folder `pulumi` runs in. */
  readonly programDir: string;
  /** The file backend's folder: the state lives under .pulumi/stacks/<project>/<stack>.json. */
  readonly backendDir: string;
  protected readonly env: NodeJS.ProcessEnv;

  protected constructor(
    readonly root: string,
    readonly stack: string,
    extraEnv: NodeJS.ProcessEnv = {},
  ) {
    this.programDir = path.join(root, "program");
    this.backendDir = path.join(root, "state");
    this.env = {
      PATH: process.env.PATH,
      // The docker CLI and buildx keep their builder state under HOME; the real one, as a user's would be.
      HOME: process.env.HOME,
      PULUMI_HOME: path.join(root, "pulumi-home"),
      PULUMI_BACKEND_URL: `file://${this.backendDir}`,
      PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      ...extraEnv,
    };
  }

  /** A fresh root holding empty program/ and state/ folders. */
  protected static scratch(prefix: string): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.mkdirSync(path.join(root, "program"));
    fs.mkdirSync(path.join(root, "state"));
    return root;
  }

  protected async initStack(): Promise<void> {
    await this.pulumi(["stack", "init", this.stack, "--secrets-provider", "passphrase"]);
  }

  /** Runs `pulumi <args>` in the project folder (runCli). */
  pulumi(args: string[], options: RunOptions = {}): Promise<CliResult> {
    return runCli("pulumi", [...args, "--non-interactive"], { cwd: this.programDir, env: this.env }, options);
  }

  /** Runs another tool (an npm script) in the project folder on the project's backend, with `env` on top. */
  run(command: string, args: string[], env: NodeJS.ProcessEnv = {}, options: RunOptions = {}): Promise<CliResult> {
    return runCli(command, args, { cwd: this.programDir, env: { ...this.env, ...env } }, options);
  }

  /** Starts `pulumi <args>` in its own process group (startCli), to interrupt it. */
  startPulumi(args: string[]): StartedCommand {
    return startCli("pulumi", [...args, "--non-interactive"], { cwd: this.programDir, env: this.env });
  }

  async outputs(): Promise<Record<string, any>> {
    return JSON.parse((await this.pulumi(["stack", "output", "--json", "--show-secrets"])).stdout);
  }

  /** `pulumi destroy`, then the stack and every temporary file. Safe to call after a failed create. */
  async remove(): Promise<void> {
    await this.pulumi(["destroy", "--yes", "--skip-preview"], { allowFailure: true });
    await this.pulumi(["stack", "rm", "--yes", "--force", this.stack], { allowFailure: true });
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
