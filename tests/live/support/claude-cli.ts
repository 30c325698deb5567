import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

const repoRoot = path.resolve(__dirname, "../../..");
const fixturesDir = path.join(repoRoot, "tests/fixtures/claude-stream");

/** The Claude Code release the stream fixtures were recorded with; live runs use the same one. */
export const RECORDED_CLI_VERSION = fs.readFileSync(path.join(fixturesDir, "cli-version.txt"), "utf8").trim();

/**
 * Environment that keeps the CLI off the network except for ANTHROPIC_BASE_URL. Observed with strace in an
 * empty network namespace: CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC alone stops the DNS lookups and the
 * `HEAD /api/hello` preconnect; the other two name the individual features in case that umbrella changes.
 */
const OFFLINE_CLI_ENV: Readonly<Record<string, string>> = {
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
  DISABLE_AUTOUPDATER: "1",
  DISABLE_TELEMETRY: "1",
};

export type CliAvailability = { available: true; binary: string } | { available: false; reason: string };

/**
 * Makes the native CLI binary of RECORDED_CLI_VERSION available without committing it: `npm pack` of the
 * platform package into node_modules/.cache/agent-sandbox/, reused on later runs. Never throws: callers skip
 * with the reason.
 */
export async function claudeCliBinary(): Promise<CliAvailability> {
  if (process.platform !== "linux" || process.arch !== "x64") {
    return { available: false, reason: `the recorded CLI is linux-x64 only (this host is ${process.platform}-${process.arch})` };
  }
  const cacheDir = path.join(repoRoot, "node_modules/.cache/agent-sandbox", `claude-code-linux-x64-${RECORDED_CLI_VERSION}`);
  const binary = path.join(cacheDir, "package/claude");
  if (fs.existsSync(binary)) return { available: true, binary };

  const staging = fs.mkdtempSync(path.join(os.tmpdir(), "claude-cli-"));
  try {
    const spec = `@anthropic-ai/claude-code-linux-x64@${RECORDED_CLI_VERSION}`;
    const { stdout } = await execFileAsync("npm", ["pack", spec, "--pack-destination", staging, "--silent"], {
      timeout: 5 * 60_000,
    });
    const tarball = path.join(staging, stdout.trim().split("\n").pop() ?? "");
    await execFileAsync("tar", ["-xzf", tarball, "-C", staging]);
    fs.mkdirSync(path.dirname(cacheDir), { recursive: true });
    // Rename last so an interrupted download never leaves a half-written binary in the cache.
    fs.renameSync(staging, cacheDir);
    return { available: true, binary };
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    return { available: false, reason: `npm could not fetch the Claude Code CLI ${RECORDED_CLI_VERSION}: ${(error as Error).message}` };
  }
}

export interface ClaudeRunOptions {
  readonly binary: string;
  /** Base URL of the Messages API stand-in. */
  readonly baseUrl: string;
  /** Working directory of the agent (its project). */
  readonly cwd: string;
  /** HOME for the run: the CLI writes its session transcripts and settings under it. */
  readonly home: string;
  /** CLI arguments after the binary, e.g. ["-p", prompt, "--output-format", "stream-json", "--verbose"]. */
  readonly args: readonly string[];
  readonly extraEnv?: Readonly<Record<string, string>>;
  /** Written to the CLI's stdin (how agent-run.ts passes the prompt); stdin is empty when absent. */
  readonly stdin?: string;
  readonly timeoutMs?: number;
}

export interface ClaudeRunResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the CLI from an empty environment (no host credentials leak in) and collects its output. Stdin is
 * always ended: on a pipe left open, `-p` waits 3 s for piped input and prints a warning on stderr.
 */
export function runClaude(options: ClaudeRunOptions): Promise<ClaudeRunResult> {
  const env = {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: options.home,
    ANTHROPIC_BASE_URL: options.baseUrl,
    // A fake key: the stand-in records it, so tests can prove it arrived.
    ANTHROPIC_API_KEY: "test-key",
    ...OFFLINE_CLI_ENV,
    ...options.extraEnv,
  };
  const child = spawn(options.binary, [...options.args], {
    cwd: options.cwd,
    env,
    stdio: ["pipe", "pipe", "pipe"],
    timeout: options.timeoutMs ?? 120_000,
  });
  child.stdin.end(options.stdin ?? "");
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (exitCode) => resolve({ exitCode, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") }));
  });
}
