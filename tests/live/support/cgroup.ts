/**
 * A container's cgroup files as the host sees them, on cgroup v1 (a hierarchy per controller) or v2 (one
 * unified hierarchy), with either cgroup driver: the paths come from /proc/<pid>/cgroup of the container's
 * init rather than from a driver's naming convention. Read on the host, they work even when the container
 * cannot fork a reader.
 */
import * as fs from "node:fs";

export type CgroupLayout = "v1" | "v2";

/** The files the live tests read, by what they hold; v1 and v2 keep the same line formats in each pair. */
const CGROUP_FILES = {
  pidsMax: { controller: "pids", v1: "pids.max", v2: "pids.max" },
  pidsCurrent: { controller: "pids", v1: "pids.current", v2: "pids.current" },
  /** "max N": forks refused at the limit. */
  pidsEvents: { controller: "pids", v1: "pids.events", v2: "pids.events" },
  /** Holds an "oom_kill N" line: processes the kernel killed for the memory limit. */
  oomEvents: { controller: "memory", v1: "memory.oom_control", v2: "memory.events" },
  /** The memory limit in bytes ("max" on v2 when there is none). */
  memoryLimit: { controller: "memory", v1: "memory.limit_in_bytes", v2: "memory.max" },
  /** Peak usage in bytes (v2 has it from Linux 5.19). */
  memoryPeak: { controller: "memory", v1: "memory.max_usage_in_bytes", v2: "memory.peak" },
} as const;

export type CgroupFile = keyof typeof CGROUP_FILES;

/** Where the host mounts its cgroup hierarchies. */
const CGROUP_ROOT = "/sys/fs/cgroup";

/** Path of a cgroup file on the host for a process whose /proc/<pid>/cgroup reads `procCgroup`. */
export function cgroupFilePath(layout: CgroupLayout, procCgroup: string, file: CgroupFile): string {
  const { controller, [layout]: name } = CGROUP_FILES[file];
  // Lines are "hierarchy-id:controllers:path"; v2's unified hierarchy has no controllers ("0::/path").
  const wanted = layout === "v2" ? "" : controller;
  for (const line of procCgroup.split("\n")) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (match?.[1].split(",").includes(wanted))
      return layout === "v2" ? `${CGROUP_ROOT}${match[2]}/${name}` : `${CGROUP_ROOT}/${controller}${match[2]}/${name}`;
  }
  throw new Error(`no ${layout === "v2" ? "unified" : controller} cgroup in:\n${procCgroup}`);
}

/** v2 when /sys/fs/cgroup is the unified hierarchy itself (it then lists its controllers at the top). */
const hostCgroupLayout = (): CgroupLayout => (fs.existsSync(`${CGROUP_ROOT}/cgroup.controllers`) ? "v2" : "v1");

/** Reads one of a running container's cgroup files; `initPid` is its State.Pid from docker inspect. */
export function readContainerCgroup(initPid: number, file: CgroupFile): string {
  const path = cgroupFilePath(hostCgroupLayout(), fs.readFileSync(`/proc/${initPid}/cgroup`, "utf8"), file);
  return fs.readFileSync(path, "utf8").trim();
}
