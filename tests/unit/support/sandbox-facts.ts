/** A healthy sandbox's facts as the ops scripts gather them, and the policy and clock the status tests judge them by. */
import type { SandboxFacts } from "../../../scripts/ops/status-report";

export const POLICY = { maxAge: "72h", maxDiskPercent: 80, maxMemoryPercent: 90 };
export const NOW = new Date("2026-12-01T12:00:00Z");
export const IMAGE = "sha256:aaaaaaaaaaaa1111";
export const MiB = 1024 ** 2;

export const healthyFacts = (extra: Partial<SandboxFacts> = {}): SandboxFacts => ({
  name: "main",
  container: "agent-sandbox-dev-main",
  state: "running",
  isolation: "container",
  health: "healthy",
  healthOutput: "healthy: claude 2.1",
  createdAt: new Date(NOW.getTime() - 3600_000),
  imageId: IMAGE,
  cpuPercent: 1.25,
  memoryBytes: 23 * MiB,
  memoryLimitBytes: 8192 * MiB,
  pids: 12,
  pidsLimit: 1024,
  workspaceDiskPercent: 40,
  deniedEgress: 0,
  ...extra,
});
