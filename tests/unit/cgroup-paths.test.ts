/**
 * The live hardening suite reads a sandbox's cgroup files on the host. This engine runs cgroup v1, so the
 * v2 branch is proven here on the /proc/<pid>/cgroup shapes of the two cgroup drivers.
 */
import { describe, expect, it } from "vitest";
import { cgroupFilePath } from "../live/support/cgroup";

const ID = "23b9c0ff5500";
const V1_HYBRID = [`9:name=systemd:/docker/${ID}`, `8:pids:/docker/${ID}`, `2:cpu,cpuacct:/docker/${ID}`, `4:memory:/docker/${ID}`, `0::/docker/${ID}`].join(
  "\n",
);
const V2_SYSTEMD = `0::/system.slice/docker-${ID}.scope\n`;
const V2_CGROUPFS = `0::/docker/${ID}\n`;

describe("cgroup file paths of a container", () => {
  it("uses the controller's own hierarchy on v1, also beside a hybrid unified line", () => {
    expect(cgroupFilePath("v1", V1_HYBRID, "pidsEvents")).toBe(`/sys/fs/cgroup/pids/docker/${ID}/pids.events`);
    expect(cgroupFilePath("v1", V1_HYBRID, "oomEvents")).toBe(`/sys/fs/cgroup/memory/docker/${ID}/memory.oom_control`);
    expect(cgroupFilePath("v1", V1_HYBRID, "memoryPeak")).toBe(`/sys/fs/cgroup/memory/docker/${ID}/memory.max_usage_in_bytes`);
  });

  it("uses the unified hierarchy and v2's file names on v2, with either driver", () => {
    expect(cgroupFilePath("v2", V2_SYSTEMD, "oomEvents")).toBe(`/sys/fs/cgroup/system.slice/docker-${ID}.scope/memory.events`);
    expect(cgroupFilePath("v2", V2_CGROUPFS, "memoryPeak")).toBe(`/sys/fs/cgroup/docker/${ID}/memory.peak`);
    expect(cgroupFilePath("v2", V2_SYSTEMD, "pidsMax")).toBe(`/sys/fs/cgroup/system.slice/docker-${ID}.scope/pids.max`);
  });

  it("says which hierarchy is missing", () => {
    expect(() => cgroupFilePath("v1", V2_SYSTEMD, "pidsCurrent")).toThrow(/no pids cgroup in/);
    expect(() => cgroupFilePath("v2", `8:pids:/docker/${ID}`, "pidsCurrent")).toThrow(/no unified cgroup in/);
  });
});
