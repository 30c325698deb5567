/**
 * Faults survived: no engine answers where the stack points. The real Pulumi CLI's output is one config
 * error naming the setting (docker.host, or DOCKER_HOST from the environment), the address and the
 * `docker -H … info` that checks it, without a stack trace, a provider's gRPC error or a declared resource.
 */

import * as fs from "node:fs";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentWorkspace, liveConfig } from "../../testkit/live/live-program";
import { type CliResult, PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";

const STACK = `faults-unreachable-${process.pid}`;
const MISSING_SOCKET = "unix:///nonexistent/faults-docker.sock";
/** The program's own switch off: frames are what a user would see. */
const AS_A_USER = { AGENT_SANDBOX_STACK_TRACES: "" };

const gate = new PulumiGate();
let workspace: string;
let stack: RealStack;

const configFor = (docker?: Record<string, unknown>) =>
  liveConfig({ image: REGISTRY_BASE_IMAGES, sandboxes: [{ name: "main", workspace }], ...(docker ? { docker } : {}) });

/** A TCP port on loopback that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The one problem, nothing of a provider's failure and no frames. */
function expectOneConfigError(result: CliResult, problem: string): void {
  const output = `${result.stdout}\n${result.stderr}`;
  expect(result.code, output).not.toBe(0);
  expect(output).toContain("agent-sandbox: invalid stack configuration (1 problem):");
  expect(output.split(problem).length - 1, "the problem is printed once").toBe(1);
  expect(output, "a stack frame").not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(output, "a provider's failure").not.toMatch(/rpc error|Cannot connect to the Docker daemon|docker:index|command:local/);
}

describe("faults survived: the engine is unreachable (live, real CLI)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    workspace = agentWorkspace("agent-sandbox-faults-unreachable-");
    stack = await RealStack.create(STACK);
  });

  afterAll(async () => {
    await stack?.remove();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("names docker.host when it points at a socket that does not exist, and declares nothing", async (context) => {
    gate.requireCli(context);
    stack.setConfig(configFor({ host: MISSING_SOCKET }));
    const started = Date.now();
    const up = await stack.pulumi(["up", "--yes", "--skip-preview"], { allowFailure: true, env: AS_A_USER });
    console.log(`[faults] refused in ${Date.now() - started} ms:\n${up.stdout}\n${up.stderr}`);
    expectOneConfigError(
      up,
      `docker.host: no Docker engine answers for "${MISSING_SOCKET}" (connect ENOENT /nonexistent/faults-docker.sock); start the engine or correct docker.host, then check it with: docker -H ${MISSING_SOCKET} info`,
    );
    const state = JSON.parse((await stack.pulumi(["stack", "export"])).stdout) as { deployment: { resources?: { type: string }[] } };
    expect((state.deployment.resources ?? []).filter((resource) => resource.type !== "pulumi:pulumi:Stack")).toEqual([]);
  });

  it("blames the SSH server when docker.host is an ssh:// address nothing answers on", async (context) => {
    gate.requireCli(context);
    const port = await closedPort();
    const host = `ssh://agent@127.0.0.1:${port}`;
    stack.setConfig(configFor({ host }));
    const preview = await stack.pulumi(["preview"], { allowFailure: true, env: AS_A_USER });
    expectOneConfigError(
      preview,
      `docker.host: no SSH server answers on 127.0.0.1:${port} for "${host}" (connect ECONNREFUSED 127.0.0.1:${port}); start the engine or correct docker.host, then check it with: docker -H ${host} info`,
    );
  });

  it("names DOCKER_HOST when the address came from the environment", async (context) => {
    gate.requireCli(context);
    stack.setConfig(configFor());
    const port = await closedPort();
    const preview = await stack.pulumi(["preview"], { allowFailure: true, env: { ...AS_A_USER, DOCKER_HOST: `tcp://127.0.0.1:${port}` } });
    expectOneConfigError(
      preview,
      `DOCKER_HOST: nothing answers on 127.0.0.1:${port} for "tcp://127.0.0.1:${port}", taken from the environment since docker.host is not set (connect ECONNREFUSED 127.0.0.1:${port}); start the engine, correct or unset DOCKER_HOST, or set docker.host, then check it with: docker -H tcp://127.0.0.1:${port} info`,
    );
  });
});
