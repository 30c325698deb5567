/**
 * Whether the local engine can run containers on gVisor: the runtime "runsc" that scripts/setup-engine.sh
 * registers (after scripts/setup-pulumi.sh built it). Like the engine gate: without it the gVisor tests skip
 * with the printed reason, except under REQUIRE_GVISOR=1, where its absence is a failure (CI that promises
 * gVisor must never pass by skipping the proofs).
 */
import type { TestContext } from "vitest";
import { docker, EngineGate } from "./engine";

/** The runtime name setup-engine.sh registers runsc under. */
export const GVISOR_RUNTIME = "runsc";

/** A runtime as `docker info` reports it. */
export interface RegisteredRuntime {
  readonly path: string;
  readonly runtimeArgs?: readonly string[];
}

/** The runtimes the engine knows, by name. */
export async function engineRuntimes(): Promise<Record<string, RegisteredRuntime>> {
  return JSON.parse(await docker("info", "--format", "{{json .Runtimes}}")) as Record<string, RegisteredRuntime>;
}

/** A suite's engine-and-gVisor check: made once in beforeAll; each test then skips with the reason when either is missing. */
export class GvisorGate {
  private readonly engine = new EngineGate();
  private reason = "not checked yet";
  /** The runsc registration the engine reports, once found. */
  runtime: RegisteredRuntime | undefined;

  /** False when there is no engine or no runsc on it (the tests then skip; REQUIRE_DOCKER=1 / REQUIRE_GVISOR=1 throw). */
  async ready(): Promise<boolean> {
    if (!(await this.engine.engineReady())) {
      this.reason = "no Docker engine reachable";
      return false;
    }
    const runtimes = await engineRuntimes();
    this.runtime = runtimes[GVISOR_RUNTIME];
    if (this.runtime) return true;
    const reason = `the engine has no runtime "${GVISOR_RUNTIME}" (it knows ${Object.keys(runtimes).join(", ")}); run scripts/setup-pulumi.sh, then scripts/setup-engine.sh, as root`;
    if (process.env.REQUIRE_GVISOR === "1") throw new Error(`REQUIRE_GVISOR=1 but ${reason}`);
    console.warn(`[live] skipped: ${reason}`);
    this.reason = reason;
    return false;
  }

  get available(): boolean {
    return this.runtime !== undefined;
  }

  /** In a test: skips without an engine or without runsc. */
  requireGvisor(context: TestContext): void {
    if (!this.available) context.skip(this.reason);
  }
}
