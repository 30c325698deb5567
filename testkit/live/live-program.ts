/**
 * Deploying the real program (index.ts), or a fixture program, on the local engine through the live
 * harness: a workspace the agent user owns, a stack config on the project's local base images, and the
 * suite lifecycle around the deploys. The sandboxes' healthcheck probes a host HTTP service (engine.ts)
 * through their egress proxy: the real default probe, the agent's API, is not reachable from a test machine.
 * A stand-in Messages API is the sandbox's apiUpstream, served over TLS with the test CA's certificate
 * (test-ca.ts), which the stack trusts through its CA bundle.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { TestContext } from "vitest";
import { HOST_GATEWAY_NAME } from "../../components/engine/host-gateway";
import { deployLive, LiveDeployError, type LiveStack } from "../harness";
import { AGENT_GID, AGENT_UID, EngineGate, type HostService, LOCAL_IMAGES } from "./engine";
import { isolationField } from "./isolation";
import { engineField } from "./live-engine";
import { testCa } from "./test-ca";

export { AGENT_GID, AGENT_UID, execIn, type HostService, LOCAL_IMAGES, startHostService } from "./engine";
/**
 * HOST_CA_BUNDLE, the machine's CA bundle: outbound HTTPS from builds passes a TLS-intercepting proxy here.
 * Live stacks use it plus the test CA (TEST_CA_BUNDLE) as image.extraCaCertsFile.
 */
export { HOST_CA_BUNDLE, TEST_CA_BUNDLE, testCa, testTls } from "./test-ca";

const PROGRAM = path.resolve(__dirname, "../../index.ts");
export const PROJECT = "agent-sandbox";

/** A fresh workspace owned by the agent user, as the program's host checks require for mode rw. */
export function agentWorkspace(prefix = "agent-sandbox-live-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chownSync(dir, AGENT_UID, AGENT_GID);
  return dir;
}

export interface SandboxOptions {
  readonly name: string;
  readonly workspace: string;
  /** Host service the healthcheck's "allowed" egress probe goes to (its port is added to hostPorts). */
  readonly probe: HostService;
  readonly extra?: Record<string, unknown>;
  readonly egress?: Record<string, unknown>;
  /**
   * Port of a stand-in Messages API on the host, served over TLS (startFakeMessagesApi's `tls: testTls()`):
   * the sandbox's apiUpstream. The credential proxy reaches it, not the sandbox, so it is no host port.
   */
  readonly apiPort?: number;
  /**
   * The way before the credential proxy, for programs older than it (which refuse apiUpstream): the agent
   * gets ANTHROPIC_BASE_URL=http://host.docker.internal:<apiPort> and reaches a plain-http stand-in
   * through its egress proxy, the port in hostPorts.
   */
  readonly apiThroughEgress?: boolean;
}

/** The apiUpstream of a stand-in API on the host at `port`, as the credential proxy reaches it. */
export const apiUpstreamOf = (port: number): string => `https://${HOST_GATEWAY_NAME}:${port}`;

/**
 * One sandbox entry: fast health checks for tests, the probe allowed through the proxy, and the isolation
 * of this run (AGENT_SANDBOX_LIVE_ISOLATION, testkit/live/isolation.ts) unless the suite names one in `extra`.
 */
export function sandboxEntry(options: SandboxOptions): Record<string, unknown> {
  const egress = options.egress ?? {};
  const api = options.apiPort;
  const legacy = api !== undefined && options.apiThroughEgress === true;
  const hostPorts = [options.probe.port, ...(legacy ? [api] : []), ...((egress.hostPorts as number[] | undefined) ?? [])];
  const extraEnv = (options.extra?.env ?? {}) as Record<string, string>;
  return {
    name: options.name,
    workspace: options.workspace,
    healthcheck: { interval: "2s", timeout: "10s", startPeriod: "1s", retries: 3 },
    ...isolationField(),
    ...options.extra,
    ...(api && !legacy ? { apiUpstream: apiUpstreamOf(api) } : {}),
    ...(legacy ? { env: { ANTHROPIC_BASE_URL: `http://${HOST_GATEWAY_NAME}:${api}`, ...extraEnv } } : {}),
    egress: egress.mode && egress.mode !== "allowlist" ? egress : { ...egress, hostPorts, healthProbe: { allowed: options.probe.sandboxUrl } },
  };
}

/**
 * The stack config of a live test: local images, the machine CAs plus the test CA as the build secret and
 * the credential proxy's trust (made when missing, so the file exists before the deploy), plus what the test adds.
 */
export function liveConfig(extra: Record<string, unknown>): Record<string, unknown> {
  const { image, ...rest } = extra;
  return { image: { ...LOCAL_IMAGES, extraCaCertsFile: testCa().bundleFile, ...(image as object | undefined) }, ...engineField(), ...rest };
}

export function deployProgram(stack: string, config: Record<string, unknown>, programPath = PROGRAM): Promise<LiveStack> {
  return deployLive({ programPath, project: PROJECT, stack, config });
}

/**
 * The lifecycle a live suite of a program (the real index.ts unless told otherwise) shares: check the
 * engine, deploy the suite's stack once, let each test skip without an engine or fail with the deploy's own
 * error, and tear down every stack the suite deployed, a half-deployed one included (its LiveDeployError
 * carries what was realized).
 */
export class LiveSuite extends EngineGate {
  private current?: LiveStack;
  private deployError: unknown;
  private readonly deployed: LiveStack[] = [];

  constructor(
    readonly stack: string,
    private readonly programPath = PROGRAM,
  ) {
    super();
  }

  /**
   * Deploys a stack and keeps it for teardown, also when the deploy fails (then it throws). A redeploy of
   * the suite's own stack becomes the one requireDeployed returns.
   */
  async deploy(stack: string, config: Record<string, unknown>): Promise<LiveStack> {
    try {
      const deployed = await deployProgram(stack, config, this.programPath);
      this.deployed.push(deployed);
      if (stack === this.stack) this.current = deployed;
      return deployed;
    } catch (error) {
      if (error instanceof LiveDeployError) this.deployed.push(error.deployed);
      throw error;
    }
  }

  /** Deploys the suite's own stack in beforeAll; a failure is kept for requireDeployed instead of failing the hook. */
  async deploySuiteStack(config: Record<string, unknown>): Promise<void> {
    try {
      await this.deploy(this.stack, config);
    } catch (error) {
      this.deployError = error;
    }
  }

  /** In a test: skips without an engine, fails with the deploy's error when the suite's stack did not come up. */
  requireDeployed(context: TestContext): LiveStack {
    this.requireEngine(context);
    if (!this.current) throw new Error(`the deploy of ${this.stack} failed: ${(this.deployError as Error)?.message ?? this.deployError}`);
    return this.current;
  }

  async teardown(): Promise<void> {
    for (const deployed of this.deployed) await deployed.teardown().catch((error) => console.error(`[live] teardown: ${(error as Error).message}`));
  }
}
