import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config/stack-schema";
import { parseRefreshConfig } from "../../components/sandbox/refresh-config";
import { ConfigError } from "../../components/values/config-error";
import { ageToMilliseconds } from "../../components/values/schema";
import { type Evaluation, evaluateProgram, makeWorkspace } from "./support/program";

const host = { homeDir: "/home/me" };

function problemsOf(refresh: unknown): string[] {
  try {
    parseStackConfig({ workspace: "/home/me/code/app", refresh }, host);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error("config was accepted");
}

describe("refresh thresholds in stack config", () => {
  it("defaults to 72h, 80% disk and 90% memory", () => {
    expect(parseStackConfig({ workspace: "/home/me/code/app" }, host).refresh).toEqual({ maxAge: "72h", maxDiskPercent: 80, maxMemoryPercent: 90 });
    expect(parseRefreshConfig({})).toEqual({ maxAge: "72h", maxDiskPercent: 80, maxMemoryPercent: 90 });
  });

  it("reads ages in minutes, hours and days", () => {
    expect([ageToMilliseconds("90m"), ageToMilliseconds("72h"), ageToMilliseconds("3d")]).toEqual([5_400_000, 259_200_000, 259_200_000]);
  });

  it.each([
    [{ maxAge: "72 hours" }, 'refresh.maxAge: "72 hours" is not an age; use e.g. "72h" (units m, h, d)'],
    [{ maxAge: "0h" }, 'refresh.maxAge: "0h" would make every sandbox due at once; use e.g. "72h"'],
    [{ maxDiskPercent: 120 }, "refresh.maxDiskPercent: must be a whole number from 1 to 100 (percent of the workspace disk), e.g. 80"],
    [{ maxMemoryPercent: 0.5 }, "refresh.maxMemoryPercent: must be a whole number from 1 to 100 (percent of the memory limit), e.g. 90"],
    [{ maxCpu: 2 }, "refresh.maxCpu: unknown key (valid here: maxAge, maxDiskPercent, maxMemoryPercent)"],
  ])("refuses %j naming the key and a right value", (refresh, problem) => {
    expect(problemsOf(refresh)).toEqual([problem]);
  });

  it("gives the ops scripts the same messages as the whole schema", () => {
    expect(() => parseRefreshConfig({ refresh: { maxDiskPercent: 120 } })).toThrow(
      "refresh.maxDiskPercent: must be a whole number from 1 to 100 (percent of the workspace disk), e.g. 80",
    );
  });
});

describe("the program with refresh thresholds", () => {
  it("declares the same sandbox with or without them: they are for npm run status, not the engine", async () => {
    const ws = makeWorkspace();
    const base = { workspace: ws.dir, image: { agentUid: ws.uid, agentGid: ws.gid } };
    const [plain, withRefresh] = await Promise.all([
      evaluateProgram({ config: base }),
      evaluateProgram({ config: { ...base, refresh: { maxAge: "24h", maxDiskPercent: 70 } } }),
    ]);
    expect(withRefresh.urns).toEqual(plain.urns);
  });

  it("declares nothing when a threshold is bad, naming the key", async () => {
    let recorded: Evaluation["resources"] = [];
    await expect(
      evaluateProgram({ config: { workspace: "/nonexistent/agent-sandbox", refresh: { maxAge: "soon" } }, onResources: (resources) => (recorded = resources) }),
    ).rejects.toThrow('refresh.maxAge: "soon" is not an age; use e.g. "72h" (units m, h, d)');
    expect(recorded).toEqual([]);
  });
});
