/**
 * The pure half of `npm run status`: engine numbers → one row per sandbox, thresholds → "refresh due"
 * with its reasons, and the row as a terminal table or JSON. engine-facts.ts reads the numbers.
 */
import type { Isolation } from "../../components/hardening/isolation";
import type { RefreshConfig } from "../../components/sandbox/refresh-config";
import { ageToMilliseconds } from "../../components/values/schema";

/** The fields of a one-shot `GET /containers/{id}/stats` status reads (either cgroup version). */
export interface StatsSample {
  readonly cpu_stats: { cpu_usage: { total_usage: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  readonly precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number };
  readonly memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  readonly pids_stats?: { current?: number; limit?: number };
}

export interface SandboxFacts {
  readonly name: string;
  readonly container: string;
  readonly containerId?: string;
  /**
   * Docker's state (running, exited, …), or on a cluster the pod's phase in lowercase (running, pending, …);
   * missing when there is no such container or pod, ENGINE_UNREACHABLE when the engine or cluster did not answer.
   */
  readonly state: string;
  /** The kernel the agent meets: the host's (container) or gVisor's, as the engine recorded the runtime. */
  readonly isolation?: Isolation;
  readonly health?: string;
  readonly healthOutput?: string;
  readonly createdAt?: Date;
  /** The image it runs: the engine's image ID, or on a cluster the manifest digest the node reports. */
  readonly imageId?: string;
  /** How often its container restarted in place (the restart policy, a failed liveness check). */
  readonly restarts?: number;
  readonly cpuPercent?: number;
  readonly memoryBytes?: number;
  readonly memoryLimitBytes?: number;
  readonly pids?: number;
  readonly pidsLimit?: number;
  readonly workspaceDiskPercent?: number;
  /** Requests its egress proxy refused since the sandbox started, the healthcheck's own probe aside. */
  readonly deniedEgress?: number;
}

/** The state of a sandbox whose engine did not answer: nothing is known of it but its name and container. */
export const ENGINE_UNREACHABLE = "engine unreachable";

export type DueKind = "age" | "disk" | "memory" | "image";

export interface StatusRow extends SandboxFacts {
  readonly ageSeconds?: number;
  readonly memoryPercent?: number;
  /** Whether it runs the image the stack last built; undefined when either is unknown. */
  readonly imageCurrent?: boolean;
  readonly healthy: boolean;
  readonly refreshDue: boolean;
  readonly refreshReasons: { kind: DueKind; detail: string }[];
  /** Risky files its runs created or changed (`path (run name)`), for review. */
  readonly riskyChanges?: string[];
}

/** CPU use over the sample's interval, as `docker stats` computes it: 100% is one whole CPU. */
export function cpuPercent(stats: StatsSample): number | undefined {
  // A sample without a previous one (the first, or a one-shot read) has no interval to divide by.
  if (!stats.precpu_stats.system_cpu_usage) return undefined;
  const cpuDelta = stats.cpu_stats.cpu_usage.total_usage - stats.precpu_stats.cpu_usage.total_usage;
  const systemDelta = (stats.cpu_stats.system_cpu_usage ?? 0) - (stats.precpu_stats.system_cpu_usage ?? 0);
  const cpus = stats.cpu_stats.online_cpus || stats.cpu_stats.cpu_usage.percpu_usage?.length || 0;
  if (systemDelta <= 0 || cpuDelta < 0 || cpus === 0) return undefined;
  return (cpuDelta / systemDelta) * cpus * 100;
}

/** Memory used without the reclaimable page cache, as `docker stats` shows it (cgroup v1 and v2 key names). */
export function memoryUsedBytes(stats: StatsSample): number | undefined {
  const { usage, stats: detail = {} } = stats.memory_stats;
  if (usage === undefined) return undefined;
  const inactive = detail.total_inactive_file ?? detail.inactive_file ?? 0;
  return inactive < usage ? usage - inactive : usage;
}

/** The use% of `df -P <folder>`'s one data line. */
export function diskPercentFromDf(output: string): number | undefined {
  const match = /\s(\d+)%\s+\S+\s*$/m.exec(output.trim().split("\n").at(-1) ?? "");
  return match ? Number(match[1]) : undefined;
}

/** Squid's refusals (TCP_DENIED) in the proxy's log, without those of the healthcheck's probe host. */
export function countDenied(log: string, probeHost: string): number {
  return log.split("\n").filter((line) => line.includes("TCP_DENIED") && !line.includes(probeHost)).length;
}

/** "72h", "3d 4h", "5m": an age as a person reads it. */
export function formatAge(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return hours > 0 ? `${days}d ${hours}h` : `${days}d`;
  if (hours > 0) return minutes > 0 ? `${hours}h ${minutes}m` : `${hours}h`;
  return minutes > 0 ? `${minutes}m` : `${Math.floor(seconds)}s`;
}

/** Docker's binary units, one decimal: "12.3MiB", "8GiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)}${units[unit]}`;
}

/** Why a sandbox is due for refresh by the stack's thresholds; empty when it is not. */
export function refreshReasons(facts: SandboxFacts, policy: RefreshConfig, agentImageId: string | undefined, now: Date): StatusRow["refreshReasons"] {
  const reasons: StatusRow["refreshReasons"] = [];
  if (facts.createdAt && now.getTime() - facts.createdAt.getTime() >= ageToMilliseconds(policy.maxAge)) {
    reasons.push({ kind: "age", detail: `created ${formatAge((now.getTime() - facts.createdAt.getTime()) / 1000)} ago, limit ${policy.maxAge}` });
  }
  if (facts.workspaceDiskPercent !== undefined && facts.workspaceDiskPercent >= policy.maxDiskPercent) {
    reasons.push({ kind: "disk", detail: `workspace disk ${facts.workspaceDiskPercent}% full, limit ${policy.maxDiskPercent}%` });
  }
  const memory = memoryPercentOf(facts);
  if (memory !== undefined && memory >= policy.maxMemoryPercent) {
    reasons.push({ kind: "memory", detail: `memory ${Math.round(memory)}% of its limit, limit ${policy.maxMemoryPercent}%` });
  }
  if (agentImageId && facts.imageId && facts.imageId !== agentImageId) {
    reasons.push({ kind: "image", detail: `runs ${shortId(facts.imageId)}, the stack last built ${shortId(agentImageId)}` });
  }
  return reasons;
}

const memoryPercentOf = (facts: SandboxFacts): number | undefined =>
  facts.memoryBytes !== undefined && facts.memoryLimitBytes ? (facts.memoryBytes / facts.memoryLimitBytes) * 100 : undefined;

const shortId = (id: string): string => id.replace(/^sha256:/, "").slice(0, 12);

export function statusRow(facts: SandboxFacts, policy: RefreshConfig, agentImageId: string | undefined, now: Date): StatusRow {
  const reasons = refreshReasons(facts, policy, agentImageId, now);
  return {
    ...facts,
    ageSeconds: facts.createdAt ? Math.max(0, Math.floor((now.getTime() - facts.createdAt.getTime()) / 1000)) : undefined,
    memoryPercent: memoryPercentOf(facts),
    imageCurrent: agentImageId && facts.imageId ? facts.imageId === agentImageId : undefined,
    healthy: facts.state === "running" && (facts.health === undefined || facts.health === "healthy"),
    refreshDue: reasons.length > 0,
    refreshReasons: reasons,
  };
}

/** 0 when every sandbox is healthy and none is due; 1 otherwise. */
export function statusExitCode(rows: readonly StatusRow[]): number {
  return rows.every((row) => row.healthy && !row.refreshDue) ? 0 : 1;
}

const or = (value: string | undefined): string => value ?? "–";
const ofLimit = (used: string | undefined, limit: string | undefined) => (used === undefined ? "–" : `${used} / ${limit ?? "∞"}`);

const COLUMNS: [string, (row: StatusRow) => string][] = [
  ["sandbox", (row) => row.name],
  ["state", (row) => (row.state === "running" ? or(row.health ?? "running") : row.state)],
  ["isolation", (row) => or(row.isolation)],
  ["age", (row) => (row.ageSeconds === undefined ? "–" : formatAge(row.ageSeconds))],
  ["cpu", (row) => (row.cpuPercent === undefined ? "–" : `${row.cpuPercent.toFixed(1)}%`)],
  [
    "memory",
    (row) =>
      ofLimit(row.memoryBytes === undefined ? undefined : formatBytes(row.memoryBytes), row.memoryLimitBytes ? formatBytes(row.memoryLimitBytes) : undefined),
  ],
  ["pids", (row) => ofLimit(row.pids?.toString(), row.pidsLimit?.toString())],
  ["disk", (row) => (row.workspaceDiskPercent === undefined ? "–" : `${row.workspaceDiskPercent}%`)],
  ["image", (row) => (row.imageCurrent === undefined ? "–" : row.imageCurrent ? "current" : "stale")],
  ["denied", (row) => or(row.deniedEgress?.toString())],
  ["risky", (row) => String(row.riskyChanges?.length ?? 0)],
  ["refresh", (row) => (row.state === ENGINE_UNREACHABLE ? "–" : row.refreshDue ? `due: ${row.refreshReasons.map((reason) => reason.kind).join(", ")}` : "no")],
];

/** The status table's column titles, and one row's cells under them. */
export const STATUS_TITLES: readonly string[] = COLUMNS.map(([title]) => title);
export const statusCells = (row: StatusRow): string[] => COLUMNS.map(([, cell]) => cell(row));

/** Lines of cells, each column as wide as its widest cell, two spaces apart. */
export function alignColumns(cells: readonly (readonly string[])[]): string[] {
  const widths = cells[0].map((_, column) => Math.max(...cells.map((line) => [...line[column]].length)));
  return cells.map((line) =>
    line
      .map((cell, column) => cell.padEnd(widths[column]))
      .join("  ")
      .trimEnd(),
  );
}

/** How the notes name a sandbox and the command that refreshes it (`npm run refresh -- main`, with `--stack` where needed). */
export interface NoteStyle {
  readonly label: (row: StatusRow) => string;
  readonly refresh: (row: StatusRow) => string;
}

const ONE_STACK: NoteStyle = { label: (row) => row.name, refresh: (row) => `npm run refresh -- ${row.name}` };

function unhealthyNote(row: StatusRow, style: NoteStyle): string {
  const what = row.state === "missing" ? "no such container or pod" : row.state === "running" ? row.health : row.state;
  const fix = row.state === "running" ? "" : `; ${style.refresh(row)} starts a new one`;
  return `${style.label(row)}: ${what}${row.healthOutput ? `; last health check: ${row.healthOutput}` : ""}${fix}`;
}

/**
 * The lines under the table for a sandbox: unhealthy (its last health output), due (why) and its risky
 * changes. A sandbox whose engine did not answer has none: the stack's own line says why.
 */
export function rowNotes(row: StatusRow, style: NoteStyle = ONE_STACK): string[] {
  if (row.state === ENGINE_UNREACHABLE) return [];
  const label = style.label(row);
  return [
    ...(row.healthy ? [] : [unhealthyNote(row, style)]),
    ...row.refreshReasons.map((reason) => `${label}: refresh due (${reason.kind}): ${reason.detail}; ${style.refresh(row)}`),
    ...(row.riskyChanges ?? []).map((change) => `${label}: risky change to review before you run anything in the workspace: ${change}`),
  ];
}

/** The rows as an aligned table, then one line per sandbox that is unhealthy (its last health output) or due (why). */
export function formatStatusTable(stack: string, rows: readonly StatusRow[]): string {
  const lines = alignColumns([STATUS_TITLES, ...rows.map(statusCells)]);
  const notes = rows.flatMap((row) => rowNotes(row));
  return [`stack ${stack}`, ...lines, ...(notes.length ? ["", ...notes] : [])].join("\n");
}

/** The rows for machines: dates as ISO text, every number raw. */
export function statusJson(stack: string, rows: readonly StatusRow[]): string {
  return JSON.stringify({ stack, sandboxes: rows }, null, 2);
}
