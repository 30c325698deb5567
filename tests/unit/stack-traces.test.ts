import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { STACK_TRACE_SWITCHES, stackTraceLimitFor } from "../../components/stack-traces";
import { evaluateProgram, makeWorkspace } from "./support/program";

describe("stack trace limit", () => {
  it("drops frames unless a switch is set to something", () => {
    expect(stackTraceLimitFor({})).toBe(0);
    expect(stackTraceLimitFor({ AGENT_SANDBOX_STACK_TRACES: "" })).toBe(0);
    expect(stackTraceLimitFor({ AGENT_SANDBOX_STACK_TRACES: "1" })).toBeUndefined();
    expect(stackTraceLimitFor({ PULUMI_DEBUG_PROMISE_LEAKS: "true" })).toBeUndefined();
  });
});

describe("the program's evaluation", () => {
  const ws = makeWorkspace();
  const config = { workspace: ws.dir, image: { agentUid: ws.uid, agentGid: ws.gid } };
  let saved: { limit: number; env: Record<string, string | undefined> };

  beforeEach(() => {
    saved = { limit: Error.stackTraceLimit, env: Object.fromEntries(STACK_TRACE_SWITCHES.map((name) => [name, process.env[name]])) };
    for (const name of STACK_TRACE_SWITCHES) delete process.env[name];
  });
  afterEach(() => {
    Error.stackTraceLimit = saved.limit;
    for (const [name, value] of Object.entries(saved.env)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  // The SDK's own bookkeeping, called as it calls it for every promise, under the setting the program left.
  const { debuggablePromise } = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: (p: Promise<unknown>, ctx: string) => Promise<unknown> };
  const recordedTrace = (): string => {
    const probe = Promise.resolve();
    debuggablePromise(probe, "probe");
    return (probe as unknown as { _debugStackTrace: string })._debugStackTrace;
  };

  it("does not make the SDK format a stack trace per promise", async () => {
    await evaluateProgram({ config });
    const trace = recordedTrace();
    expect(trace).toMatch(/^Error/);
    expect(trace).not.toMatch(/\n\s+at /);
  });

  it("keeps the traces when a switch asks for them", async () => {
    process.env.AGENT_SANDBOX_STACK_TRACES = "1";
    Error.stackTraceLimit = 10;
    await evaluateProgram({ config });
    expect(recordedTrace()).toMatch(/\n\s+at /);
  });

  it("still reports a bad config by key and fix", async () => {
    await expect(evaluateProgram({ config: { ...config, image: { agentUid: 0, agentGid: 0 } } })).rejects.toThrow(
      "image.agentUid: must be a whole number from 1 to 4294967294 (a non-root UID; see runAsRoot to run as root), e.g. 1000",
    );
    expect(Error.stackTraceLimit).toBe(0);
  });
});
