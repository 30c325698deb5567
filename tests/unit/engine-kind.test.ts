/**
 * Which engine a stack is declared for, and what it refuses before anything is declared: an engine that
 * answers as the other one, rootless Podman, gVisor or a remote address on Podman. The identity comes from
 * the engine's own `version`, read through a stand-in docker CLI.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { engineClient, resolvedTarget } from "../../components/engine/client";
import { DOCKER, PODMAN } from "../../components/engine/engine";
import { engineIdentityProblems, engineSettingProblems } from "../../components/engine/engine-kind";
import { realEngineFactsProbe } from "../../components/engine/runtimes";

const PODMAN_ROOTFUL = { runtimes: ["runc"], component: "Podman Engine", rootless: false, cgroupVersion: "1" };

describe("the engine a stack targets", () => {
  it("is Docker unless docker.engine names Podman, which is reached at its own socket when docker.host is not set", () => {
    expect(engineClient().kind).toBe("docker");
    expect(engineClient({ host: "ssh://me@box" }).kind).toBe("docker");
    const podman = engineClient({ engine: "podman" });
    expect(podman.kind).toBe("podman");
    expect(podman.env).toEqual({ DOCKER_HOST: "unix:///run/podman/podman.sock" });
    expect(engineClient({ engine: "podman", host: "unix:///srv/podman.sock" }).env).toEqual({ DOCKER_HOST: "unix:///srv/podman.sock" });
    expect(resolvedTarget({ engine: "docker" })).toEqual({ engine: "docker" });
    expect(resolvedTarget(undefined)).toBeUndefined();
  });

  it("reads the engine's name, rootless mode and cgroup version from its own answers", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-kind-"));
    fs.writeFileSync(
      path.join(dir, "docker"),
      `#!/bin/sh
case "$1" in
  version) echo '[{"Name":"Podman Engine"},{"Name":"Conmon"}]' ;;
  info) printf '%s\\t%s\\t%s\\t%s\\n' '{"runc":{}}' 2 '["name=seccomp,profile=default","name=rootless"]' 1 ;;
esac
`,
      { mode: 0o755 },
    );
    const path0 = process.env.PATH;
    process.env.PATH = `${dir}:${path0}`;
    try {
      expect(realEngineFactsProbe(engineClient({ engine: "podman" }))).toEqual({
        runtimes: ["runc"],
        cpus: 2,
        component: "Podman Engine",
        rootless: true,
        cgroupVersion: "1",
      });
    } finally {
      process.env.PATH = path0;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("an engine that is not the one declared", () => {
  it("refuses Podman answering a stack declared for Docker, and the other way round, naming docker.engine", () => {
    expect(engineIdentityProblems(DOCKER, PODMAN_ROOTFUL, "unix:///run/podman/podman.sock")).toEqual([
      "docker.engine: the stack is declared for docker, but podman answers at unix:///run/podman/podman.sock; set docker.engine: podman, or point docker.host at a docker engine",
    ]);
    expect(
      engineIdentityProblems(PODMAN, { runtimes: ["runc"], component: "Engine", rootless: false, cgroupVersion: "1" }, "unix:///var/run/docker.sock")[0],
    ).toContain("declared for podman, but docker answers");
    expect(engineIdentityProblems(PODMAN, PODMAN_ROOTFUL, "x")).toEqual([]);
    expect(engineIdentityProblems(DOCKER, { runtimes: ["runc"], component: "Engine", rootless: false, cgroupVersion: "2" }, "x")).toEqual([]);
    // An engine that does not say what it is is left to the providers.
    expect(engineIdentityProblems(PODMAN, { runtimes: [] }, "x")).toEqual([]);
  });

  it("refuses rootless Podman, which ignores every limit on cgroup v1", () => {
    const [problem] = engineIdentityProblems(PODMAN, { ...PODMAN_ROOTFUL, rootless: true }, "unix:///run/user/1000/podman/podman.sock");
    expect(problem).toContain("runs rootless, which ignores memory, CPU and pids limits on this cgroup v1 host");
    expect(problem).toContain("scripts/setup-engine.sh --podman");
    expect(engineIdentityProblems(PODMAN, { ...PODMAN_ROOTFUL, rootless: true, cgroupVersion: "2" }, "x")[0]).toContain("is not proven");
  });
});

describe("settings Podman cannot take", () => {
  it("refuses gVisor and a remote address on Podman, each with its key", () => {
    expect(engineSettingProblems({ engine: "podman" }, ["sandboxes[0].isolation"])).toEqual([
      'sandboxes[0].isolation: "gvisor" is proven on Docker Engine only; on docker.engine podman set isolation: "container", or move the stack to a Docker engine',
    ]);
    expect(engineSettingProblems({ engine: "podman", host: "ssh://me@box" }, [])[0]).toMatch(
      /^docker.host: docker.engine podman is supported at a local socket only/,
    );
    expect(engineSettingProblems({ engine: "podman", host: "unix:///run/podman/podman.sock" }, [])).toEqual([]);
    expect(engineSettingProblems({ host: "ssh://me@box" }, ["isolation"])).toEqual([]);
  });
});
