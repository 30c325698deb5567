import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { engineClient } from "../../components/engine/client";
import { PODMAN } from "../../components/engine/engine";
import { pidsLimitEnvironment, readinessEnvironment, startHealthyLines } from "../../components/hardening/container-start";

const HEALTH = { interval: "15s", timeout: "2s", startPeriod: "5s", retries: 3 };

interface FakeContainer {
  /** Exit status of each run of the health check, in order; the last one repeats. */
  readonly checks: number[];
  /** Seconds each check takes. */
  readonly checkSeconds?: number;
  /** What the engine reports as running and health status, e.g. "true starting". */
  readonly state?: string;
  /** The recorded healthcheck's command, empty for a container without one. */
  readonly check?: string;
  /** What the container's own pids cgroup says (pids.max), read on an engine that applies the limit at the start. */
  readonly cgroupPidsMax?: string;
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the start lines against a stand-in docker that plays `container`; returns the exit code, stderr and each call. */
async function start(container: FakeContainer, env: Record<string, string> = {}, client = engineClient()) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "container-start-"));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, "checks"), container.checks.join("\n"));
  fs.writeFileSync(
    path.join(dir, "docker"),
    `#!/bin/sh
echo "$*" >> "${dir}/calls"
case "$1" in
  inspect) case "$3" in
    *PidsLimit*) echo "64 ${container.check ?? "/usr/local/bin/agent-healthcheck"}" ;;
    "{{.State.Running}}") echo "${(container.state ?? "true starting").split(" ")[0]}" ;;
    *) echo "${container.state ?? "true starting"}" ;;
  esac ;;
  exec) case "$*" in
    *pids.max*) echo "${container.cgroupPidsMax ?? "64"}"; exit 0 ;;
  esac
    code=$(head -n 1 "${dir}/checks")
    [ "$(wc -l < "${dir}/checks")" -gt 0 ] && sed -i 1d "${dir}/checks"
    sleep ${container.checkSeconds ?? 0}
    echo "check output, exit $code"
    exit "$code" ;;
  logs) echo "the container's log" ;;
esac
`,
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(dir, "podman"), `#!/bin/sh\necho "podman $*" >> "${dir}/calls"\n`, { mode: 0o755 });
  const child = spawn("/bin/sh", ["-c", `set -eu\n${startHealthyLines(client)}`], {
    env: { PATH: `${dir}:${process.env.PATH}`, HOME: os.homedir(), CONTAINER: "c1", PIDS_LIMIT: "64", ...readinessEnvironment(HEALTH), ...env },
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const started = Date.now();
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trimEnd().split("\n");
  const execs = calls.filter((call) => call.startsWith("exec") && !call.includes("pids.max"));
  return { code, stderr, calls, seconds: (Date.now() - started) / 1000, execs };
}

describe("starting a container created stopped", () => {
  it("is ready as soon as its own check passes, without waiting for the engine's first scheduled check", async () => {
    const result = await start({ checks: [1, 1, 0] });
    expect(result.code, result.stderr).toBe(0);
    expect(result.calls[0]).toBe("update --pids-limit 64 c1");
    expect(result.calls[2]).toBe("start c1");
    expect(result.execs).toEqual(Array(3).fill("exec c1 /bin/sh -c /usr/local/bin/agent-healthcheck"));
    // The engine still says "starting" (its first check is an interval away); the start did not wait for it.
    expect(result.seconds).toBeLessThan(10);
  });

  it("fails with the last check's output and the logs once the engine reports the container unhealthy", async () => {
    const result = await start({ checks: [1], state: "true unhealthy" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("container c1 did not become ready (running, health: true unhealthy)");
    expect(result.stderr).toContain("the container's log");
  });

  it("fails when the container stops, and when the deadline passes with the check still failing", async () => {
    const stopped = await start({ checks: [1], state: "false starting" });
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain("health: false starting");
    const late = await start({ checks: [3] }, { HEALTH_TIMEOUT: "1" });
    expect(late.code).toBe(1);
    expect(late.execs.length).toBeGreaterThan(1);
    expect(late.stderr).toContain("check output, exit 3");
  });

  it("gives up on a check that hangs after CHECK_TIMEOUT and tries again", async () => {
    const result = await start({ checks: [0], checkSeconds: 5 }, { CHECK_TIMEOUT: "1", HEALTH_TIMEOUT: "2" });
    expect(result.code).toBe(1);
    // Unkilled, the first check alone would outlast the deadline: no second try, and 5 s or more.
    expect(result.execs.length).toBeGreaterThan(1);
    expect(result.seconds).toBeLessThan(5);
  });

  it("treats a container without a healthcheck as ready once it runs", async () => {
    const result = await start({ checks: [1], check: "" });
    expect(result.code, result.stderr).toBe(0);
    expect(result.execs).toEqual([]);
  });
});

describe("starting a container on Podman, whose host applies the pids limit as it starts", () => {
  const podman = engineClient({ engine: "podman" });

  it("gives no update (Podman's Docker API has none), reads the limit from the container's own cgroup, and records the passing check", async () => {
    const result = await start({ checks: [1, 0] }, { DOCKER_HOST: PODMAN.defaultHost }, podman);
    expect(result.code, result.stderr).toBe(0);
    expect(result.calls.some((call) => call.startsWith("update"))).toBe(false);
    const started = result.calls.indexOf("start c1");
    expect(result.calls[started + 1]).toMatch(/^exec c1 \/bin\/sh -c read -r limit < \/sys\/fs\/cgroup\/pids\/pids.max/);
    expect(result.execs).toEqual(Array(2).fill("exec c1 /bin/sh -c /usr/local/bin/agent-healthcheck"));
    // Podman without systemd keeps no health schedule: the start records the check the engine would have run.
    expect(result.calls.at(-1)).toBe(`podman --url ${PODMAN.defaultHost} healthcheck run c1`);
  });

  it("stops a container whose cgroup lacks the limit (no hook on the host) and fails, naming the fix", async () => {
    const result = await start({ checks: [0], cgroupPidsMax: "max" }, { DOCKER_HOST: PODMAN.defaultHost }, podman);
    expect(result.code).toBe(1);
    expect(result.calls).toContain("stop -t 1 c1");
    expect(result.execs).toEqual([]);
    expect(result.stderr).toContain("did not apply pids limit 64 to c1 (its pids cgroup says max)");
    expect(result.stderr).toContain("scripts/setup-engine.sh --podman");
  });

  it("carries the limit in the container's environment on Podman, and nowhere on Docker", () => {
    expect(pidsLimitEnvironment(podman, 64)).toEqual(["AGENT_SANDBOX_PIDS_LIMIT=64"]);
    expect(pidsLimitEnvironment(engineClient(), 64)).toEqual([]);
  });
});
