import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { hostProblems, remoteProtectionWarnings, resolveArgs, validateStackConfig } from "../../components/config/resolve-args";
import { parseStackConfig } from "../../components/config/stack-schema";
import { withHostDefaults } from "../../components/sandbox/host-checks";
import { ConfigError } from "../../components/values/config-error";
import { realHostProbe } from "../../components/values/host-probe";
import { makeWorkspace } from "./support/program";

const home = os.homedir();
const configFor = (workspace: string, extra: Record<string, unknown> = {}, image: Record<string, unknown> = {}) =>
  parseStackConfig({ sandboxes: [{ name: "main", workspace, ...extra }], image }, { homeDir: "/nonexistent-home" });

describe("host checks", () => {
  it("passes a workspace owned by the agent UID", () => {
    const workspace = makeWorkspace();
    expect(hostProblems(configFor(workspace.dir, {}, { agentUid: workspace.uid, agentGid: workspace.gid }), realHostProbe, home)).toEqual([]);
  });

  it("names the fix when the workspace owner differs from the agent UID", () => {
    const workspace = makeWorkspace();
    const [problem] = hostProblems(configFor(workspace.dir, {}, { agentUid: workspace.uid + 7 }), realHostProbe, home);
    expect(problem).toBe(
      `sandboxes[0].workspace: "${workspace.dir}" is owned by UID ${workspace.uid} but the agent runs as UID ${workspace.uid + 7}, so it could not write there and its files would not be yours; set image.agentUid: ${workspace.uid} and image.agentGid: ${workspace.gid} (or use mode: ro)`,
    );
  });

  it("reports a workspace that does not exist", () => {
    expect(hostProblems(configFor("/nonexistent/agent-sandbox-ws"), realHostProbe, home)).toEqual([
      'sandboxes[0].workspace: "/nonexistent/agent-sandbox-ws" does not exist on this machine; create it or fix the path',
    ]);
  });

  it("follows a symlink and refuses a workspace that leads into /etc", () => {
    const link = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-link-")), "code");
    fs.symlinkSync("/etc", link);
    const problems = hostProblems(configFor(link, { mode: "ro" }), realHostProbe, home);
    expect(problems).toContain(
      `sandboxes[0].workspace: "${link}" is a link to /etc; refused: /etc is inside /etc, host system files the sandbox must not see; mount a project folder instead`,
    );
  });

  it("refuses more CPUs than the Docker host has, and defaults to what it has when that is under 4", () => {
    const workspace = makeWorkspace();
    const config = configFor(workspace.dir, { resources: { cpus: 8 } }, { agentUid: workspace.uid, agentGid: workspace.gid });
    const twoCpus = { ...realHostProbe, cpuCount: () => 2 };
    expect(hostProblems(config, twoCpus, home)).toEqual([
      "sandboxes[0].resources.cpus: 8 is more than the 2 CPUs of this Docker host, which Docker refuses; use at most 2",
    ]);
    const unset = configFor(workspace.dir, {}, { agentUid: workspace.uid, agentGid: workspace.gid });
    expect(withHostDefaults(unset.sandboxes, 2)[0].resources.cpus).toBe(2);
    expect(withHostDefaults(unset.sandboxes, 16)[0].resources.cpus).toBe(4);
  });

  it("on a remote engine checks only the CPUs the engine reports and the CA file, which is read here", () => {
    const remote = { docker: { host: "ssh://me@build-box" } };
    const missing = {
      docker: remote.docker,
      image: { extraCaCertsFile: "/nonexistent/ca.pem" },
      sandboxes: [{ name: "main", workspace: "/srv/code", resources: { cpus: 8 } }],
    };
    expect(() => validateStackConfig(missing, realHostProbe, home, [], undefined, undefined, 2)).toThrow(
      /resources\.cpus: 8 is more than the 2 CPUs of this Docker host[\s\S]*image\.extraCaCertsFile: "\/nonexistent\/ca\.pem" cannot be read/,
    );
    // A path of the remote host, not of this machine: not judged here.
    const config = { ...remote, sandboxes: [{ name: "main", workspace: "/srv/code" }] };
    expect(validateStackConfig(config, realHostProbe, home, [], undefined, undefined, 2).sandboxes[0].resources.cpus).toBe(2);
    expect(validateStackConfig(config, realHostProbe, home).sandboxes[0].resources.cpus).toBeUndefined();
  });

  it("stops a remote engine whose port answers but which the CLI cannot ask, with ssh's own error and the check", () => {
    const refused = { failure: "error during connect: … stderr=Host key verification failed." };
    const args = { docker: { host: "ssh://me@build-box" }, workspace: "/srv/code" };
    expect(() =>
      resolveArgs(
        args,
        realHostProbe,
        home,
        () => undefined,
        {},
        () => refused,
      ),
    ).toThrow(
      "docker.host: the engine at \"ssh://me@build-box\" does not answer (error during connect: … stderr=Host key verification failed.); over ssh, check that your key is authorized there, its host key is in your known_hosts and its user may use the engine, then check it with: DOCKER_HOST='ssh://me@build-box' docker info",
    );
    // Chosen by the shell's DOCKER_HOST, the problem names that.
    expect(() =>
      resolveArgs(
        { workspace: "/srv/code" },
        realHostProbe,
        home,
        () => undefined,
        { DOCKER_HOST: "ssh://me@build-box" },
        () => refused,
      ),
    ).toThrow(/DOCKER_HOST: the engine at "ssh:\/\/me@build-box" does not answer/);
  });

  it("warns that a remote engine's read-write workspaces go unprotected, and says so of no other", () => {
    const sandboxes = [
      { name: "main", workspace: "/srv/code" },
      { name: "reviewer", workspace: "/srv/code", mode: "ro" },
    ];
    const remote = validateStackConfig({ docker: { host: "ssh://me@build-box" }, sandboxes }, realHostProbe, home, [], undefined, undefined, 2);
    expect(remoteProtectionWarnings(remote)).toEqual([
      "sandbox main: workspace protection cannot run for the remote engine ssh://me@build-box (its workspace cannot be read from here), so no path of /srv/code is mounted read-only and the agent could plant code that host runs (git hooks, editor tasks); use mode: clone or mode: ro for an agent you would not trust with that",
    ]);
    const workspace = makeWorkspace();
    const local = validateStackConfig(
      { image: { agentUid: workspace.uid, agentGid: workspace.gid }, sandboxes: [{ name: "main", workspace: workspace.dir }] },
      realHostProbe,
      home,
    );
    expect(remoteProtectionWarnings(local)).toEqual([]);
  });

  it("refuses a CA file that holds no certificate", () => {
    const workspace = makeWorkspace();
    const notPem = path.join(workspace.dir, "ca.txt");
    fs.writeFileSync(notPem, "hello");
    const config = configFor(workspace.dir, {}, { agentUid: workspace.uid, agentGid: workspace.gid, extraCaCertsFile: notPem });
    expect(hostProblems(config, realHostProbe, home)).toEqual([`image.extraCaCertsFile: "${notPem}" holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`]);
  });

  it("gives no owner advice for a workspace it refuses, and names the shortcut's own key", () => {
    const link = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-link-")), "code");
    fs.symlinkSync("/", link);
    const problems = configProblems({ workspace: link });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^workspace: "${link}" is a link to /; refused: `));
    expect(problems[0]).not.toMatch(/agentUid/);
  });

  it("asks for a new owner, not a root agent, when a read-write workspace belongs to root", () => {
    const rootOwned = { ...realHostProbe, stat: () => ({ isDirectory: true, uid: 0, gid: 0 }), realPath: (written: string) => written };
    expect(hostProblems(configFor("/srv/code"), rootOwned, home)).toEqual([
      'sandboxes[0].workspace: "/srv/code" is owned by UID 0 but the agent runs as UID 1000, so it could not write there and its files would not be yours; give the folder to your user (sudo chown -R "$(id -u):$(id -g)" "/srv/code") or use mode: ro',
    ]);
  });

  it("refuses more open files than the host's fs.nr_open lets a container have", () => {
    const workspace = makeWorkspace();
    const config = configFor(workspace.dir, { resources: { openFiles: 2_000_000 } }, { agentUid: workspace.uid, agentGid: workspace.gid });
    const nrOpen = { ...realHostProbe, readText: (file: string) => (file === "/proc/sys/fs/nr_open" ? "1048576\n" : realHostProbe.readText(file)) };
    expect(hostProblems(config, nrOpen, home)).toEqual([
      "sandboxes[0].resources.openFiles: 2000000 is more than this host's fs.nr_open (1048576), so the sandbox could not start; use at most 1048576, e.g. 8192",
    ]);
  });
});

function configProblems(raw: Record<string, unknown>): string[] {
  try {
    validateStackConfig(raw, realHostProbe, "/nonexistent-home");
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error("config was accepted");
}
