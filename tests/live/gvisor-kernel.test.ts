/**
 * Live proof that a sandbox on gVisor runs on gVisor's kernel, not the host's (issue #21, part 4): the engine
 * recorded runsc, the sandbox sees gVisor's /proc/version (and dmesg gVisor's log, where the seccomp profile
 * lets it run: not for the agent, as under runc), and system calls the host kernel offers
 * are refused by gVisor's. Two containers with the sandbox's own hardening, as the program declares it
 * (containerArgsFor, as `docker create` flags by dockerCreateArguments), one per runtime, so that every
 * difference is the kernel's. Plain containers for now: to be switched to a sandbox of a real `pulumi up` once
 * the program can choose the runtime.
 *
 * The syscall probe (support/syscall-probe, built here with Go) calls bpf(BPF_MAP_CREATE), io_uring_setup,
 * keyctl(KEYCTL_GET_KEYRING_ID) and clone(CLONE_NEWUSER). What this shows (docs/gvisor-findings.md):
 * - with the guards off (root, CAP_SYS_ADMIN, no seccomp) the host kernel creates a BPF map and an io_uring;
 *   gVisor's refuses both (EINVAL: it loads only CGROUP_DEVICE programs; ENOSYS: io_uring is off in runsc).
 *   keyctl and user namespaces it serves itself: a keyring and a namespace of gVisor's, not the host's.
 * - with the sandbox's hardening runc already refuses bpf, keyctl and user namespaces (Docker's seccomp
 *   profile, EPERM), and under runsc the same profile does (runsc applies it only with --oci-seccomp, which
 *   setup-engine.sh registers); io_uring_setup passes the profile of Docker 20.10 (Docker 25 blocks it) and
 *   gVisor refuses it as a kernel: ENOSYS, not the profile's EPERM.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config/stack-schema";
import { type ContainerSpec, dockerCreateArguments } from "../../components/engine/container-cli";
import { DOCKER } from "../../components/engine/engine";
import { sandboxObjectNames } from "../../components/engine/naming";
import { containerArgsFor } from "../../components/sandbox/container";
import { AGENT_GID, AGENT_UID, docker, execIn, inspectContainer, LOCAL_IMAGES } from "../../testkit/live/engine";
import { GVISOR_RUNTIME, GvisorGate } from "../../testkit/live/runtime-gate";

const run = promisify(execFile);
const gate = new GvisorGate();
const RUNTIMES = ["runc", GVISOR_RUNTIME] as const;
type Runtime = (typeof RUNTIMES)[number];
const PIDS = 128;
const PROBE_SOURCE = path.join(__dirname, "support", "syscall-probe");
const PROBE_TARGET = "/usr/local/bin/syscall-probe";
const CALLS = ["bpf", "io_uring_setup", "keyctl", "clone_newuser"] as const;
type Call = (typeof CALLS)[number];
/** Per call, "" when it succeeded, else the errno's name. */
type ProbeResult = Record<Call, string>;

const identityOf = (runtime: Runtime) => ({ project: "agent-sandbox", stack: `gvisor-kernel-${runtime}-${process.pid}` });
const namesOf = (runtime: Runtime) => sandboxObjectNames(identityOf(runtime), "kernel");
let scratch: string;
let probe: string;
const created: Runtime[] = [];

function parseProbe(output: string): ProbeResult {
  const lines = output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { call: Call; errno: string });
  const result = Object.fromEntries(lines.map((line) => [line.call, line.errno])) as ProbeResult;
  for (const call of CALLS) if (!(call in result)) throw new Error(`the probe did not report ${call}:\n${output}`);
  return result;
}

/** The sandbox container of the program's own declaration, created on `runtime` with the pids limit the start command applies, and started. */
async function startHardened(runtime: Runtime, workspace: string): Promise<string> {
  const config = parseStackConfig({ sandboxes: [{ name: "kernel", workspace, egress: { mode: "none" } }] }, { homeDir: "/nonexistent-home" });
  const names = namesOf(runtime);
  const spec = containerArgsFor(
    identityOf(runtime),
    config.sandboxes[0],
    { uid: AGENT_UID, gid: AGENT_GID },
    // Any image with a shell shows the kernel; the agent image's healthcheck is not what is proven here.
    { imageId: LOCAL_IMAGES.baseImage, homeVolume: names.home, protectedPaths: [], engine: DOCKER },
  ) as ContainerSpec;
  const mounts = [...(spec.mounts ?? []), { type: "bind", source: probe, target: PROBE_TARGET, readOnly: true }];
  created.push(runtime);
  await docker("create", "--runtime", runtime, "--pids-limit", String(PIDS), ...dockerCreateArguments({ ...spec, mounts }));
  await docker("start", names.container);
  return names.container;
}

/** A command as root with CAP_SYS_ADMIN and no seccomp: what the kernel itself offers. A throwaway container without network or writable root. */
function unguarded(runtime: Runtime, ...command: string[]): Promise<string> {
  return docker(
    "run",
    "--rm",
    "--runtime",
    runtime,
    "--network",
    "none",
    "--read-only",
    "--cap-add",
    "SYS_ADMIN",
    "--security-opt",
    "seccomp=unconfined",
    "--mount",
    `type=bind,source=${probe},target=${PROBE_TARGET},readonly`,
    LOCAL_IMAGES.baseImage,
    ...command,
  );
}

describe("a sandbox on gVisor runs on gVisor's kernel (live)", () => {
  const hardened = {} as Record<Runtime, string>;

  beforeAll(async () => {
    if (!(await gate.ready())) return;
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-gvisor-kernel-"));
    probe = path.join(scratch, "syscall-probe");
    // Static and standard library only: no module download, runs in any image.
    await run("go", ["build", "-trimpath", "-o", probe, "."], { cwd: PROBE_SOURCE, env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=mod" } });
    fs.chmodSync(scratch, 0o755);
    for (const runtime of RUNTIMES) {
      const workspace = path.join(scratch, `workspace-${runtime}`);
      fs.mkdirSync(workspace);
      fs.chownSync(workspace, AGENT_UID, AGENT_GID);
      hardened[runtime] = await startHardened(runtime, workspace);
    }
  });

  afterAll(async () => {
    if (!gate.available) return;
    for (const runtime of created) {
      const names = namesOf(runtime);
      await docker("rm", "-f", names.container).catch(() => "");
      await docker("volume", "rm", "-f", names.home).catch(() => "");
    }
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("is recorded by the engine as a runsc container, registered with systrap and the OCI seccomp profile, and runs as gVisor's sandbox process", async (context) => {
    gate.requireGvisor(context);
    const runtimeArgs = gate.runtime?.runtimeArgs ?? [];
    expect(runtimeArgs, JSON.stringify(gate.runtime)).toEqual(expect.arrayContaining(["--platform=systrap", "--oci-seccomp"]));
    for (const runtime of RUNTIMES) {
      const info = await inspectContainer(hardened[runtime]);
      // The process the engine tracks: gVisor's sandbox (its kernel) rather than the container's own init.
      const init = fs.readFileSync(`/proc/${info.State.Pid}/cmdline`, "utf8").split("\0")[0];
      const evidence = JSON.stringify({ runtime: info.HostConfig.Runtime, running: info.State.Running, init });
      expect(info.HostConfig.Runtime, evidence).toBe(runtime);
      expect(info.State.Running, evidence).toBe(true);
      if (runtime === GVISOR_RUNTIME) expect(init, evidence).toBe("runsc-sandbox");
      else expect(init, evidence).not.toMatch(/runsc/);
    }
  });

  it("sees gVisor's kernel in /proc/version, and gVisor's log in dmesg where the seccomp profile lets dmesg run", async (context) => {
    gate.requireGvisor(context);
    const hostVersion = fs.readFileSync("/proc/version", "utf8").trim();
    const seen = {} as Record<Runtime, { version: string; dmesg: string }>;
    for (const runtime of RUNTIMES) {
      const version = await execIn(hardened[runtime], "cat /proc/version");
      const dmesg = await execIn(hardened[runtime], "dmesg");
      seen[runtime] = { version: version.output.trim(), dmesg: `exit ${dmesg.exitCode}: ${dmesg.output.trim().split("\n").slice(0, 2).join(" | ")}` };
    }
    // The sandbox's own log is not the agent's to read either: the profile's syslog rule wants CAP_SYSLOG.
    const gvisorLog = await unguarded(GVISOR_RUNTIME, "dmesg");
    const evidence = JSON.stringify({ hostVersion, seen, unguardedGvisorDmesg: gvisorLog.split("\n").slice(0, 3) });
    console.info(`[gvisor-kernel] ${evidence}`);
    expect(seen.runc.version, evidence).toBe(hostVersion);
    expect(seen.runsc.version, evidence).not.toBe(hostVersion);
    expect(seen.runsc.version, evidence).toMatch(/gvisor/i);
    for (const runtime of RUNTIMES) expect(seen[runtime].dmesg, evidence).toMatch(/^exit 1: .*Operation not permitted/);
    expect(gvisorLog, evidence).toContain("Starting gVisor");
  });

  it("refuses as a kernel the BPF map and the io_uring that the host kernel creates", async (context) => {
    gate.requireGvisor(context);
    const host = parseProbe(await unguarded("runc", PROBE_TARGET));
    const gvisor = parseProbe(await unguarded(GVISOR_RUNTIME, PROBE_TARGET));
    const evidence = JSON.stringify({ host, gvisor });
    console.info(`[gvisor-kernel] guards off (root, CAP_SYS_ADMIN, seccomp=unconfined): ${evidence}`);
    for (const call of ["bpf", "io_uring_setup"] as const) {
      // The premise: this host's kernel offers the call (a kernel without it has nothing to compare).
      expect(host[call], `${call}: the host kernel refuses it too; ${evidence}`).toBe("");
      expect(gvisor[call], `${call}: ${evidence}`).not.toBe("");
    }
    expect(gvisor.io_uring_setup, evidence).toBe("ENOSYS");
  });

  it("with the sandbox's hardening refuses bpf, io_uring_setup, keyctl and user namespaces; runc already refuses all but io_uring_setup", async (context) => {
    gate.requireGvisor(context);
    const results = {} as Record<Runtime, ProbeResult & { seccomp: string; unshare: string }>;
    for (const runtime of RUNTIMES) {
      const probed = await execIn(hardened[runtime], PROBE_TARGET);
      const seccomp = await execIn(hardened[runtime], "grep '^Seccomp:' /proc/self/status");
      const unshare = await execIn(hardened[runtime], "unshare --user true");
      results[runtime] = { ...parseProbe(probed.output), seccomp: seccomp.output.trim(), unshare: `exit ${unshare.exitCode}: ${unshare.output.trim()}` };
    }
    const evidence = JSON.stringify(results);
    console.info(`[gvisor-kernel] sandbox hardening: ${evidence}`);
    // The engine's seccomp profile holds inside gVisor too (runsc --oci-seccomp), and refuses what it refuses under runc.
    expect(results.runsc.seccomp, evidence).toMatch(/^Seccomp:\s+2$/);
    for (const call of ["bpf", "keyctl", "clone_newuser"] as const) {
      expect(results.runc[call], `${call} under runc: ${evidence}`).toBe("EPERM");
      expect(results.runsc[call], `${call} under runsc: ${evidence}`).toBe("EPERM");
    }
    // Docker 20.10's profile lets io_uring_setup through (Docker 25 and later refuse it: EPERM); gVisor's kernel
    // has none to give (ENOSYS, never the profile's EPERM).
    expect(["", "EPERM"], `io_uring_setup under runc: ${evidence}`).toContain(results.runc.io_uring_setup);
    expect(results.runsc.io_uring_setup, evidence).toBe("ENOSYS");
    for (const runtime of RUNTIMES) expect(results[runtime].unshare, `${runtime}: ${evidence}`).toMatch(/^exit 1: .*Operation not permitted/);
  });
});
