import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config/stack-schema";
import { type ContainerSpec, dockerCreateArguments } from "../../components/engine/container-cli";
import { DOCKER } from "../../components/engine/engine";
import { containerArgsFor } from "../../components/sandbox/container";

const identity = { project: "agent-sandbox", stack: "dev" };
const agent = { uid: 1000, gid: 1000 };
const refs = { imageId: "sha256:abc", networkName: "net", homeVolume: "home", credentialsVolume: "creds", protectedPaths: [".git/hooks"], engine: DOCKER };
const sandboxOf = (extra: Record<string, unknown> = {}) =>
  parseStackConfig({ sandboxes: [{ name: "main", workspace: "/home/me/code/app", ...extra }] }, { homeDir: "/home/me" }).sandboxes[0];
const specOf = (extra: Record<string, unknown> = {}) => containerArgsFor(identity, sandboxOf(extra), agent, refs) as ContainerSpec;

describe("docker create arguments from the sandbox container's own inputs", () => {
  it("carries the hardening: no capabilities, no privilege gain, read-only root, limits, init, the sandbox's network", () => {
    const args = dockerCreateArguments(specOf()).join(" ");
    for (const flag of [
      "--cap-drop ALL",
      "--security-opt no-new-privileges:true",
      "--read-only",
      "--memory 8192m --memory-swap 8192m",
      "--cpu-period 100000",
      "--ulimit nofile=8192:8192",
      "--init",
      "--ipc private",
      "--user 1000:1000",
      "--network net --network-alias main",
      "--mount type=volume,source=creds,target=/run/agent-secrets,readonly",
      "--mount type=tmpfs,target=/tmp,tmpfs-size=1073741824,tmpfs-mode=1777",
      "--mount type=bind,source=/home/me/code/app/.git/hooks,target=/workspace/.git/hooks,readonly",
    ])
      expect(args).toContain(flag);
    expect(args).toMatch(/sha256:abc sleep infinity$/);
  });

  it("has a form for every input of every kind of sandbox, the acknowledged unsafe ones included", () => {
    const unsafe = {
      privileged: true,
      hostPid: true,
      capAdd: ["NET_ADMIN"],
      runAsRoot: true,
      dockerSocket: true,
      acknowledgeUnsafe: ["privileged", "host-pid", "added-capabilities", "root-user", "docker-socket", "open-egress"],
      egress: { mode: "open" },
    };
    const args = dockerCreateArguments(specOf(unsafe)).join(" ");
    expect(args).toContain("--privileged");
    expect(args).toContain("--cap-add NET_ADMIN");
    expect(args).toContain("--pid host");
    expect(args).toContain("--add-host host.docker.internal:host-gateway");
    expect(dockerCreateArguments(specOf({ egress: { mode: "none" } })).join(" ")).toContain("--network none");
  });

  it("refuses an input it has no form for rather than dropping it", () => {
    expect(() => dockerCreateArguments({ ...specOf(), shmSize: 64 } as ContainerSpec)).toThrow(/no docker CLI form for shmSize/);
  });
});
