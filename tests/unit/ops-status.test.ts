import { describe, expect, it } from "vitest";
import { riskyChangesBySandbox } from "../../scripts/ops/stack-outputs";
import {
  countDenied,
  cpuPercent,
  diskPercentFromDf,
  formatAge,
  formatBytes,
  formatStatusTable,
  memoryUsedBytes,
  type SandboxFacts,
  type StatsSample,
  statusExitCode,
  statusJson,
  statusRow,
} from "../../scripts/ops/status-report";
import { healthyFacts, IMAGE, MiB, NOW, POLICY } from "./support/sandbox-facts";

const healthy = healthyFacts;
const rowOf = (extra: Partial<SandboxFacts> = {}) => statusRow(healthy(extra), POLICY, IMAGE, NOW);

describe("refresh due, by the stack's thresholds", () => {
  it("is not due when every number is under its threshold", () => {
    expect(rowOf()).toMatchObject({ healthy: true, refreshDue: false, refreshReasons: [], imageCurrent: true, ageSeconds: 3600 });
  });

  it("is due for disk at the threshold, saying how full and the limit", () => {
    expect(rowOf({ workspaceDiskPercent: 80 }).refreshReasons).toEqual([{ kind: "disk", detail: "workspace disk 80% full, limit 80%" }]);
    expect(rowOf({ workspaceDiskPercent: 79 }).refreshDue).toBe(false);
  });

  it("is due for age once the container is older than maxAge", () => {
    const old = rowOf({ createdAt: new Date(NOW.getTime() - 73 * 3600_000) });
    expect(old.refreshReasons).toEqual([{ kind: "age", detail: "created 3d 1h ago, limit 72h" }]);
    expect(rowOf({ createdAt: new Date(NOW.getTime() - 71 * 3600_000) }).refreshDue).toBe(false);
  });

  it("is due for memory at maxMemoryPercent of the limit", () => {
    expect(rowOf({ memoryBytes: 92 * MiB, memoryLimitBytes: 100 * MiB }).refreshReasons).toEqual([
      { kind: "memory", detail: "memory 92% of its limit, limit 90%" },
    ]);
  });

  it("is due when it runs another image than the stack last built", () => {
    const stale = rowOf({ imageId: "sha256:bbbbbbbbbbbb2222" });
    expect(stale).toMatchObject({ imageCurrent: false, refreshReasons: [{ kind: "image", detail: "runs bbbbbbbbbbbb, the stack last built aaaaaaaaaaaa" }] });
  });

  it("lists every reason at once", () => {
    expect(rowOf({ workspaceDiskPercent: 99, memoryBytes: 99, memoryLimitBytes: 100 }).refreshReasons.map((reason) => reason.kind)).toEqual(["disk", "memory"]);
  });
});

describe("the exit status", () => {
  it("is 0 only when every sandbox is healthy and none is due", () => {
    expect(statusExitCode([rowOf(), rowOf()])).toBe(0);
    expect(statusExitCode([rowOf(), rowOf({ workspaceDiskPercent: 85 })])).toBe(1);
    expect(statusExitCode([rowOf({ health: "unhealthy" })])).toBe(1);
    expect(statusExitCode([statusRow({ name: "main", container: "c", state: "missing" }, POLICY, IMAGE, NOW)])).toBe(1);
    expect(statusExitCode([rowOf({ state: "exited", health: "unhealthy" })])).toBe(1);
  });
});

describe("engine numbers", () => {
  const sample = (extra: Partial<StatsSample> = {}): StatsSample => ({
    cpu_stats: { cpu_usage: { total_usage: 3_000_000 }, system_cpu_usage: 200_000_000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 1_000_000 }, system_cpu_usage: 100_000_000 },
    memory_stats: { usage: 50 * MiB, limit: 100 * MiB, stats: { total_inactive_file: 10 * MiB } },
    ...extra,
  });

  it("computes CPU % as docker stats does: 100% is one CPU", () => {
    expect(cpuPercent(sample())).toBeCloseTo(4);
  });

  it("has no CPU % without a previous sample", () => {
    expect(cpuPercent(sample({ precpu_stats: { cpu_usage: { total_usage: 0 } } }))).toBeUndefined();
  });

  it("leaves the reclaimable page cache out of memory used, for cgroup v1 and v2", () => {
    expect(memoryUsedBytes(sample())).toBe(40 * MiB);
    expect(memoryUsedBytes(sample({ memory_stats: { usage: 50 * MiB, stats: { inactive_file: 5 * MiB } } }))).toBe(45 * MiB);
  });

  it("reads the use% of df -P", () => {
    const df = "Filesystem     1024-blocks  Used Available Capacity Mounted on\ntmpfs                 4096  3482       614      86% /workspace\n";
    expect(diskPercentFromDf(df)).toBe(86);
    expect(diskPercentFromDf("df: /workspace: No such file or directory")).toBeUndefined();
  });

  it("counts the proxy's refusals, not the healthcheck's own denied probe", () => {
    const log = [
      "2026-12-01T10:00:00+0000 sandbox=main client=172.20.0.3 TCP_DENIED/403 GET http://egress-denied-probe.invalid/ bytes=3900",
      "2026-12-01T10:00:01+0000 sandbox=main client=172.20.0.3 TCP_DENIED/403 CONNECT evil.example.com:443 bytes=3900",
      "2026-12-01T10:00:02+0000 sandbox=main client=172.20.0.3 TCP_TUNNEL/200 CONNECT api.anthropic.com:443 bytes=5000",
    ].join("\n");
    expect(countDenied(log, "egress-denied-probe.invalid")).toBe(1);
  });
});

describe("the report", () => {
  it("formats ages and sizes as a person reads them", () => {
    expect([formatAge(42), formatAge(300), formatAge(7260), formatAge(3 * 86_400 + 3600)]).toEqual(["42s", "5m", "2h 1m", "3d 1h"]);
    expect([formatBytes(512), formatBytes(23.5 * MiB), formatBytes(8 * 1024 * MiB)]).toEqual(["512B", "23.5MiB", "8GiB"]);
  });

  it("prints one aligned row per sandbox, and why a sandbox is due or unhealthy under the table", () => {
    const table = formatStatusTable("dev", [
      rowOf(),
      rowOf({ name: "review", workspaceDiskPercent: 86, isolation: "gvisor" }),
      rowOf({ name: "old", health: "unhealthy", healthOutput: "unhealthy: /workspace is 96% full (limit 95%)" }),
    ]);
    expect(table).toBe(
      [
        "stack dev",
        "sandbox  state      isolation  age  cpu   memory        pids       disk  image    denied  risky  refresh",
        "main     healthy    container  1h   1.3%  23MiB / 8GiB  12 / 1024  40%   current  0       0      no",
        "review   healthy    gvisor     1h   1.3%  23MiB / 8GiB  12 / 1024  86%   current  0       0      due: disk",
        "old      unhealthy  container  1h   1.3%  23MiB / 8GiB  12 / 1024  40%   current  0       0      no",
        "",
        "review: refresh due (disk): workspace disk 86% full, limit 80%; npm run refresh -- review",
        "old: unhealthy; last health check: unhealthy: /workspace is 96% full (limit 95%)",
      ].join("\n"),
    );
  });

  it("counts a sandbox's risky changes and lists each under the table, from its runs' reports", () => {
    const risky = riskyChangesBySandbox({ fix: { riskyChanges: [".git/hooks/post-checkout", "package.json"] }, docs: { riskyChanges: [] }, gone: {} }, [
      { name: "fix", sandbox: "main" },
      { name: "docs", sandbox: "main" },
      { name: "gone", sandbox: "review" },
    ]);
    expect(risky).toEqual({ main: [".git/hooks/post-checkout (run fix)", "package.json (run fix)"] });
    const table = formatStatusTable("dev", [{ ...rowOf(), riskyChanges: risky.main }]);
    expect(table.split("\n")[2]).toMatch(/ 2 {6}no$/);
    expect(table).toContain("main: risky change to review before you run anything in the workspace: .git/hooks/post-checkout (run fix)");
  });

  it("shows a missing container without numbers", () => {
    const table = formatStatusTable("dev", [statusRow({ name: "main", container: "c", state: "missing" }, POLICY, IMAGE, NOW)]);
    expect(table.split("\n")[2]).toBe("main     missing  –          –    –    –       –     –     –      –       0      no");
    expect(table).toContain("main: no such container or pod");
  });

  it("gives machines every number raw, and the reasons", () => {
    const parsed = JSON.parse(statusJson("dev", [rowOf({ workspaceDiskPercent: 86 })]));
    expect(parsed.stack).toBe("dev");
    expect(parsed.sandboxes[0]).toMatchObject({ name: "main", workspaceDiskPercent: 86, refreshDue: true, healthy: true, pids: 12, pidsLimit: 1024 });
    expect(parsed.sandboxes[0].refreshReasons[0].kind).toBe("disk");
  });
});
