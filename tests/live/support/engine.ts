import Docker from "dockerode";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The agent UID/GID of the image defaults. */
export const AGENT_UID = 1000;
export const AGENT_GID = 1000;
export const AGENT_USER = `${AGENT_UID}:${AGENT_GID}`;

/**
 * Decides whether the live suite can run. Without a reachable engine the live tests skip with the printed
 * reason, except under REQUIRE_DOCKER=1 (set by .ci/run after scripts/setup-engine.sh), where a missing
 * engine is a failure: CI must never pass by skipping the proofs.
 */
export async function engineAvailability(): Promise<{ available: true } | { available: false; reason: string }> {
  try {
    await new Docker().ping();
    return { available: true };
  } catch (error) {
    const reason = `no Docker engine reachable (${(error as Error).message}); run scripts/setup-engine.sh as root`;
    if (process.env.REQUIRE_DOCKER === "1") {
      throw new Error(`REQUIRE_DOCKER=1 but ${reason}`);
    }
    console.warn(`[live] skipped: ${reason}`);
    return { available: false, reason };
  }
}

export interface ExecResult {
  readonly exitCode: number;
  readonly output: string;
}

/**
 * `docker exec` of a shell script, as the agent user unless told otherwise; stdout and stderr together, for
 * evidence in failure messages. Asynchronous: the host services the sandboxes call live in the test process.
 */
export async function execIn(container: string, script: string, options: { user?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  try {
    const { stdout, stderr } = await run("docker", ["exec", "-u", options.user ?? AGENT_USER, container, "sh", "-c", script], { timeout: options.timeoutMs ?? 60_000 });
    return { exitCode: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as Error & { code?: number; stdout?: string; stderr?: string };
    return { exitCode: typeof failed.code === "number" ? failed.code : -1, output: `${failed.stdout ?? ""}${failed.stderr ?? failed.message}` };
  }
}
