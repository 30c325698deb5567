import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { clientLibraryEnvironment, engineClient } from "../../components/engine/client";
import { countOf, engineFor, engineUnreachable } from "../../scripts/ops/engine-facts";
import {
  engineLabel,
  type FleetStack,
  fleetExitCode,
  fleetJson,
  formatFleetTable,
  stackProblem,
  stackRows,
  unreachableRows,
} from "../../scripts/ops/fleet-report";
import { listStacks, type OpsStack, type PulumiRunner, readStack } from "../../scripts/ops/stack-outputs";
import { mapLimited, stackReport, statusArgs } from "../../scripts/ops/status";
import { ENGINE_UNREACHABLE, type SandboxFacts, statusRow } from "../../scripts/ops/status-report";
import { healthyFacts, IMAGE, NOW, POLICY } from "./support/sandbox-facts";

const facts = (extra: Partial<SandboxFacts> = {}): SandboxFacts => healthyFacts({ healthOutput: undefined, ...extra });
const rowOf = (extra: Partial<SandboxFacts> = {}) => ({ ...statusRow(facts(extra), POLICY, IMAGE, NOW), riskyChanges: [] });

const opsStack = (stack: string, sandboxes: string[], host?: string): OpsStack => ({
  stack,
  sandboxes: Object.fromEntries(sandboxes.map((name) => [name, { container: `agent-sandbox-${stack}-${name}` } as OpsStack["sandboxes"][string]])),
  agentImageId: IMAGE,
  refresh: POLICY,
  engine: engineClient(host ? { host } : undefined),
  riskyChanges: {},
});

const LOCAL = { url: "unix:///var/run/docker.sock", setting: "default", check: "docker info" } as const;
const DEV: FleetStack = { stack: "dev", engine: { ...LOCAL, reachable: true }, sandboxes: [rowOf(), rowOf({ name: "review", isolation: "gvisor" })] };
const ALICE: FleetStack = {
  stack: "alice",
  engine: {
    url: "tcp://127.0.0.1:1",
    setting: "docker.host",
    check: "DOCKER_HOST='tcp://127.0.0.1:1' docker info",
    reachable: false,
    reason: "connect ECONNREFUSED 127.0.0.1:1",
  },
  sandboxes: unreachableRows(opsStack("alice", ["main"], "tcp://127.0.0.1:1"), NOW),
};
const EMPTY: FleetStack = { stack: "new", engine: { ...LOCAL, reachable: null }, sandboxes: [] };
const BROKEN: FleetStack = { stack: "broken", error: "docker.host: must be a URL (stack broken)", sandboxes: [] };

describe("the task count of a gVisor sandbox", () => {
  it("is the number wc -l printed, and no number when the output is anything else", () => {
    expect(countOf("12\n")).toBe(12);
    expect(countOf("0")).toBe(0);
    // What a merged stderr looked like before it was dropped: a task ended while ls listed it.
    expect(countOf("ls: cannot access '/proc/57/task/[0-9]*': No such file or directory\n12\n")).toBeUndefined();
    expect(countOf("")).toBeUndefined();
  });
});

describe("the image a sandbox should run", () => {
  const CODEX_IMAGE = `sha256:${"c".repeat(64)}`;
  const stackWith = (imageId?: string): OpsStack => ({
    ...opsStack("dev", ["cx"]),
    sandboxes: { cx: { container: "agent-sandbox-dev-cx", agent: "codex", imageId } as OpsStack["sandboxes"][string] },
  });

  it("is the sandbox's own agent's image, not the default agent's", () => {
    const [current] = stackRows(stackWith(CODEX_IMAGE), [facts({ name: "cx", imageId: CODEX_IMAGE })], NOW);
    expect(current.imageCurrent).toBe(true);
    expect(current.refreshReasons).toEqual([]);
    const [stale] = stackRows(stackWith(CODEX_IMAGE), [facts({ name: "cx", imageId: IMAGE })], NOW);
    expect(stale.imageCurrent).toBe(false);
    expect(stale.refreshReasons.map((reason) => reason.kind)).toEqual(["image"]);
  });

  it("is the stack's agentImage for a stack last brought up before sandboxes said theirs", () => {
    const [row] = stackRows(stackWith(undefined), [facts({ name: "cx", imageId: IMAGE })], NOW);
    expect(row.imageCurrent).toBe(true);
  });
});

describe("status flags", () => {
  it("reads one stack by default, every stack with --all, and --json with either", () => {
    expect(statusArgs([], {})).toEqual({ all: false, stack: "dev", json: false });
    expect(statusArgs(["--json", "--stack", "alice"], {})).toEqual({ all: false, stack: "alice", json: true });
    expect(statusArgs(["--all"], { AGENT_SANDBOX_STACK: "bob" })).toEqual({ all: true, json: false });
    expect(statusArgs(["--json", "--all"], {})).toEqual({ all: true, json: true });
  });

  it("refuses --all with --stack, and unknown flags, with the usage", () => {
    expect(() => statusArgs(["--all", "--stack", "dev"], {})).toThrow(
      "--all reads every stack of the backend and takes no --stack; usage: npm run status -- [--stack NAME | --all] [--json]",
    );
    expect(() => statusArgs(["--all", "--jsno"], {})).toThrow("unknown argument --jsno; usage: npm run status -- [--stack NAME | --all] [--json]");
    expect(() => statusArgs(["main"], {})).toThrow("unknown argument main");
  });
});

describe("the fleet's exit status", () => {
  it("is 0 when every stack is read, every engine asked answers and every sandbox is healthy and not due", () => {
    expect(fleetExitCode([DEV, EMPTY])).toBe(0);
    expect(fleetExitCode([])).toBe(0);
  });

  it("is 1 for an unreachable engine, an unreadable stack, or one unhealthy or due sandbox", () => {
    expect(fleetExitCode([DEV, ALICE])).toBe(1);
    expect(fleetExitCode([DEV, BROKEN])).toBe(1);
    expect(fleetExitCode([{ ...DEV, sandboxes: [rowOf(), rowOf({ health: "unhealthy" })] }])).toBe(1);
    expect(fleetExitCode([{ ...DEV, sandboxes: [rowOf({ workspaceDiskPercent: 90 })] }])).toBe(1);
    // Even when the engine's sandbox list is empty, a stack whose engine did not answer is not healthy.
    expect(fleetExitCode([{ ...ALICE, sandboxes: [] }])).toBe(1);
  });
});

describe("the fleet table", () => {
  it("names how each engine is reached", () => {
    expect(engineLabel(LOCAL)).toBe("local socket");
    expect(engineLabel({ url: "ssh://me@box", setting: "docker.host" })).toBe("ssh://me@box");
    expect(engineLabel({ url: "tcp://box:2375", setting: "DOCKER_HOST" })).toBe("tcp://box:2375 (DOCKER_HOST)");
    expect(engineLabel(undefined)).toBe("–");
  });

  it("lists every stack with its engine, one line per sandbox, and the stacks without any; problems and notes under it", () => {
    const due = { ...DEV, sandboxes: [rowOf(), rowOf({ name: "review", isolation: "gvisor", workspaceDiskPercent: 86 })] };
    expect(formatFleetTable([due, ALICE, EMPTY, BROKEN])).toBe(
      [
        "stack   engine             sandbox  state               isolation  age  cpu   memory        pids       disk  image    denied  risky  refresh",
        "dev     local socket       main     healthy             container  1h   1.3%  23MiB / 8GiB  12 / 1024  40%   current  0       0      no",
        "dev     local socket       review   healthy             gvisor     1h   1.3%  23MiB / 8GiB  12 / 1024  86%   current  0       0      due: disk",
        "alice   tcp://127.0.0.1:1  main     engine unreachable  –          –    –     –             –          –     –        –       0      –",
        "new     local socket       –        no sandboxes        –          –    –     –             –          –     –        –       –      –",
        "broken  –                  –        unreadable          –          –    –     –             –          –     –        –       –      –",
        "",
        "dev/review: refresh due (disk): workspace disk 86% full, limit 80%; npm run refresh -- review --stack dev",
        "alice: engine unreachable at tcp://127.0.0.1:1 (its docker.host): connect ECONNREFUSED 127.0.0.1:1; check it with: DOCKER_HOST='tcp://127.0.0.1:1' docker info",
        "broken: docker.host: must be a URL (stack broken)",
      ].join("\n"),
    );
  });

  it("says how to refresh an unhealthy sandbox of another stack, with --stack", () => {
    const table = formatFleetTable([{ ...DEV, stack: "bob", sandboxes: [rowOf({ state: "exited", health: undefined })] }]);
    expect(table.split("\n").at(-1)).toBe("bob/main: exited; npm run refresh -- main --stack bob starts a new one");
  });

  it("says when the backend has no stacks", () => {
    expect(formatFleetTable([])).toBe("no stacks on this backend: npm run up (or npm run stack:new -- NAME) makes one");
  });

  it("explains an engine taken from the shell's DOCKER_HOST as such", () => {
    const shell: FleetStack = { ...ALICE, engine: { ...ALICE.engine!, setting: "DOCKER_HOST" } };
    expect(stackProblem(shell)).toContain("(DOCKER_HOST of this shell, as the stack sets no docker.host)");
    expect(stackProblem(DEV)).toBeUndefined();
    expect(stackProblem(EMPTY)).toBeUndefined();
  });

  it("gives machines {healthy, stacks: [{stack, engine, error?, sandboxes}]}, the rows as npm run status -- --json has them", () => {
    const parsed = JSON.parse(fleetJson([DEV, ALICE, EMPTY, BROKEN]));
    expect(parsed.healthy).toBe(false);
    expect(parsed.stacks.map((stack: FleetStack) => stack.stack)).toEqual(["dev", "alice", "new", "broken"]);
    expect(parsed.stacks[0].engine).toEqual({ ...LOCAL, reachable: true });
    expect(parsed.stacks[0].sandboxes[1]).toMatchObject({ name: "review", isolation: "gvisor", healthy: true, refreshDue: false, pids: 12 });
    expect(parsed.stacks[1].engine).toMatchObject({ url: "tcp://127.0.0.1:1", reachable: false, reason: "connect ECONNREFUSED 127.0.0.1:1" });
    expect(parsed.stacks[1].sandboxes).toEqual([
      expect.objectContaining({ name: "main", container: "agent-sandbox-alice-main", state: ENGINE_UNREACHABLE, healthy: false, refreshDue: false }),
    ]);
    expect(parsed.stacks[2]).toMatchObject({ engine: { reachable: null }, sandboxes: [] });
    expect(parsed.stacks[3]).toEqual({ stack: "broken", error: "docker.host: must be a URL (stack broken)", sandboxes: [] });
    expect(JSON.parse(fleetJson([DEV])).healthy).toBe(true);
  });
});

describe("reading each stack on its own engine", () => {
  // The process's own environment object, put back as it was after a test swaps in another.
  const saved = process.env;
  afterEach(() => {
    process.env = saved;
  });

  it("gives a stack that names an engine exactly its variables, and one that names none the shell's", () => {
    const shell = { PATH: "/bin", DOCKER_HOST: "tcp://shell:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs" };
    expect(clientLibraryEnvironment(engineClient({ host: "ssh://me@box" }), shell)).toEqual({ PATH: "/bin", DOCKER_HOST: "ssh://me@box" });
    expect(clientLibraryEnvironment(engineClient(), shell)).toEqual(shell);
    expect(shell.DOCKER_HOST).toBe("tcp://shell:2376");
  });

  it("makes each stack's client reach its own engine, and leaves the process's DOCKER_HOST alone", () => {
    process.env = { ...saved, DOCKER_HOST: "unix:///shell/docker.sock" };
    const remote = engineFor(engineClient({ host: "tcp://build-box:2375" })) as unknown as { modem: { host?: string; socketPath?: string } };
    const local = engineFor(engineClient()) as unknown as { modem: { host?: string; socketPath?: string } };
    expect(remote.modem.host).toBe("build-box");
    expect(local.modem).toMatchObject({ socketPath: "/shell/docker.sock" });
    expect(local.modem.host).toBeUndefined();
    expect(process.env.DOCKER_HOST).toBe("unix:///shell/docker.sock");
  });

  it("calls an engine unreachable with the connection's error, or when it does not answer in time", async () => {
    const missing = await engineUnreachable(engineFor(engineClient({ host: "unix:///nonexistent-agent-sandbox/docker.sock" })));
    expect(missing).toBe("connect ENOENT /nonexistent-agent-sandbox/docker.sock");
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      expect(await engineUnreachable(engineFor(engineClient({ host: `tcp://127.0.0.1:${port}` })), 200)).toBe("no answer within 0.2 s");
    } finally {
      silent.close();
    }
  });

  it("reports a stack whose engine does not answer as rows in that state, with the address and the setting", async () => {
    const report = await stackReport(opsStack("alice", ["main", "review"], "unix:///nonexistent-agent-sandbox/docker.sock"), NOW, {});
    expect(report.engine).toEqual({
      url: "unix:///nonexistent-agent-sandbox/docker.sock",
      setting: "docker.host",
      check: "DOCKER_HOST='unix:///nonexistent-agent-sandbox/docker.sock' docker info",
      reachable: false,
      reason: "connect ENOENT /nonexistent-agent-sandbox/docker.sock",
    });
    expect(report.sandboxes.map((row) => [row.name, row.state, row.healthy])).toEqual([
      ["main", ENGINE_UNREACHABLE, false],
      ["review", ENGINE_UNREACHABLE, false],
    ]);
  });

  it("lists a stack without sandboxes without asking its engine, which is the shell's when the stack names none", async () => {
    const report = await stackReport(opsStack("new", []), NOW, { DOCKER_HOST: "ssh://me@shell-box" });
    expect(report).toEqual({
      stack: "new",
      engine: { url: "ssh://me@shell-box", setting: "DOCKER_HOST", check: "docker info", reachable: null },
      sandboxes: [],
    });
  });

  it("lists the backend's stacks and reads one never brought up without an error", async () => {
    const cli: PulumiRunner = async (args) => {
      if (args.join(" ") === "stack ls --json") return { status: 0, stdout: JSON.stringify([{ name: "dev" }, { name: "alice", current: true }]), stderr: "" };
      return { status: 0, stdout: "{}", stderr: "" };
    };
    expect(await listStacks(cli)).toEqual(["alice", "dev"]);
    expect((await readStack("alice", cli, { allowEmpty: true })).sandboxes).toEqual({});
    await expect(readStack("alice", cli)).rejects.toThrow("stack alice has no sandboxes yet");
    await expect(listStacks(async () => ({ status: 255, stdout: "", stderr: "error: no Pulumi.yaml project file found" }))).rejects.toThrow(
      "pulumi stack ls failed:\nerror: no Pulumi.yaml project file found",
    );
  });

  it("reads at most `limit` stacks at once, the results in the stacks' order", async () => {
    let running = 0;
    let most = 0;
    const results = await mapLimited([5, 1, 4, 2, 3], 2, async (delay) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, delay * 5));
      running--;
      return delay * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });
});
