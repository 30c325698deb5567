/**
 * The Codex and OpenCode CLIs for host-side runs against the stand-in APIs: where their unpacked npm
 * packages are, the image's `codex` wrapper around the binary, and an async run (never spawnSync: the
 * stand-in server answers from the same Node process).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Where `npm pack` of the per-arch packages was unpacked, one folder per CLI (codex/package/…,
 * opencode/package/…); kept outside the repository, the binaries being 180–300 MB.
 */
export const AGENT_CLIS_DIR = process.env.AGENT_CLIS_DIR ?? "/work/agent-clis";

const CODEX_TRIPLE: Partial<Record<NodeJS.Architecture, string>> = { x64: "x86_64-unknown-linux-musl", arm64: "aarch64-unknown-linux-musl" };

export type CliLookup = { readonly found: true; readonly binary: string } | { readonly found: false; readonly reason: string };

export function codexBinary(): CliLookup {
  const triple = CODEX_TRIPLE[process.arch];
  if (process.platform !== "linux" || triple === undefined) return { found: false, reason: `no Codex build for ${process.platform}-${process.arch}` };
  return existing(path.join(AGENT_CLIS_DIR, "codex/package/vendor", triple, "bin/codex"), "npm pack @openai/codex@0.171.0-linux-x64");
}

export function opencodeBinary(): CliLookup {
  return existing(path.join(AGENT_CLIS_DIR, "opencode/package/bin/opencode"), "npm pack opencode-linux-x64@1.18.33");
}

function existing(binary: string, howToGet: string): CliLookup {
  return fs.existsSync(binary) ? { found: true, binary } : { found: false, reason: `${binary} is absent (${howToGet} and unpack it there)` };
}

const CODEX_INSTALL_SCRIPT = path.resolve(__dirname, "../../components/agents/codex/image/install-cli.sh");

/**
 * The image's `codex` (the wrapper that install-cli.sh writes) in a fresh folder beside a `codex-cli`
 * link to `binary`, so host runs take the base URL from OPENAI_BASE_URL exactly as the sandbox does.
 * Returns the wrapper's path; the caller removes its folder.
 */
export function codexWrapper(binary: string): string {
  const script = fs.readFileSync(CODEX_INSTALL_SCRIPT, "utf8");
  const wrapper = /<<'WRAPPER'\n([\s\S]*?)\nWRAPPER\n/.exec(script)?.[1];
  if (wrapper === undefined) throw new Error(`${CODEX_INSTALL_SCRIPT} no longer writes its wrapper in a <<'WRAPPER' here-document`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "codex-wrapper-"));
  fs.symlinkSync(binary, path.join(dir, "codex-cli"));
  fs.writeFileSync(path.join(dir, "codex"), `${wrapper}\n`, { mode: 0o755 });
  return path.join(dir, "codex");
}

export interface CliRun {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** The whole environment of the CLI: nothing of the test process leaks in (no real keys, no proxies). */
  readonly env: Readonly<Record<string, string>>;
  /** Written to stdin, then closed: how the sandbox hands over the prompt. */
  readonly stdin: string;
  readonly timeoutMs: number;
}

export interface CliResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a CLI to its end (killed after timeoutMs) and collects its output. */
export function runCli(run: CliRun): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(run.command, [...run.args], { cwd: run.cwd, env: { ...run.env }, stdio: ["pipe", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), run.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") });
    });
    child.stdin.end(run.stdin);
  });
}
