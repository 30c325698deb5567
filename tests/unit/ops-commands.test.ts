import { describe, expect, it } from "vitest";
import { engineClient } from "../../components/engine/client";
import { engineFor } from "../../scripts/ops/engine-facts";
import { personCommand, unavailableMessage } from "../../scripts/ops/person-commands";
import { DOCKER_CONTAINER, refreshReport, sandboxUrns } from "../../scripts/ops/refresh-plan";
import { OpsError, type PulumiRunner, readStack, sandboxNamed, stackFromArgs, upCommand } from "../../scripts/ops/stack-outputs";

const INFO = {
  container: "agent-sandbox-dev-main",
  homeVolume: "agent-sandbox-dev-main-home",
  shell: "docker exec -it -u 1000:1000 -w /workspace agent-sandbox-dev-main bash",
  runAgent: "docker exec -it -u 1000:1000 -w /workspace agent-sandbox-dev-main agent-exec claude",
};
const OUTPUTS = { agentImage: { imageId: "sha256:abc" }, sandboxOutputs: { main: INFO } };

/** A stand-in Pulumi CLI answering `stack output` and `config` with these JSON texts. */
const cli =
  (answers: { outputs?: unknown; config?: unknown; stderr?: string }): PulumiRunner =>
  async (args) => {
    if (answers.stderr) return { status: 255, stdout: "", stderr: answers.stderr };
    const value = args[0] === "stack" ? answers.outputs : answers.config;
    return { status: 0, stdout: JSON.stringify(value ?? {}), stderr: "" };
  };

const errorOf = (action: () => unknown): string => {
  try {
    action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("no error");
};
const rejectionOf = async (action: () => Promise<unknown>): Promise<string> => {
  try {
    await action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("no error");
};

describe("reading a stack for the ops scripts", () => {
  it("takes --stack, else AGENT_SANDBOX_STACK, else dev", () => {
    expect(stackFromArgs(["main", "--stack", "alice", "--json"], {})).toEqual({ stack: "alice", rest: ["main", "--json"] });
    expect(stackFromArgs(["main"], { AGENT_SANDBOX_STACK: "bob" }).stack).toBe("bob");
    expect(stackFromArgs([], {}).stack).toBe("dev");
    expect(errorOf(() => stackFromArgs(["--stack"], {}))).toBe("--stack needs a stack name, e.g. --stack dev");
  });

  it("reads sandboxes, the image and the thresholds, with the stack's docker.host", async () => {
    const config = { "agent-sandbox:docker": { value: '{"host":"ssh://me@build-box"}' }, "agent-sandbox:refresh": { value: '{"maxDiskPercent":70}' } };
    const stack = await readStack("dev", cli({ outputs: OUTPUTS, config }));
    expect(stack).toMatchObject({
      agentImageId: "sha256:abc",
      refresh: { maxAge: "72h", maxDiskPercent: 70 },
      engine: { env: { DOCKER_HOST: "ssh://me@build-box" } },
    });
    expect(stack.sandboxes.main.container).toBe(INFO.container);
  });

  it("says a stack that does not exist is made by npm run up, with its name", async () => {
    const missing = cli({ stderr: "error: no stack named 'alice' found" });
    expect(await rejectionOf(() => readStack("alice", missing))).toBe("stack alice does not exist: AGENT_SANDBOX_STACK=alice npm run up creates it");
    expect(upCommand("dev")).toBe("npm run up");
  });

  it("says a stack never brought up has no sandboxes yet", async () => {
    expect(await rejectionOf(() => readStack("dev", cli({ outputs: {} })))).toBe("stack dev has no sandboxes yet: npm run up");
  });

  it("refuses bad refresh thresholds with the config's own message", async () => {
    const config = { "agent-sandbox:refresh": { value: '{"maxAge":"3 days"}' } };
    expect(await rejectionOf(() => readStack("dev", cli({ outputs: OUTPUTS, config })))).toContain(
      'refresh.maxAge: "3 days" is not an age; use e.g. "72h" (units m, h, d)',
    );
  });

  it("names the sandboxes a stack has when asked for another", async () => {
    const stack = await readStack("dev", cli({ outputs: OUTPUTS }));
    expect(errorOf(() => sandboxNamed(stack, "review", "npm run shell -- <sandbox>"))).toBe(
      "stack dev has no sandbox review (it has: main); add it to Pulumi.dev.yaml and npm run up",
    );
    expect(errorOf(() => sandboxNamed(stack, undefined, "npm run shell -- <sandbox>"))).toBe(
      "usage: npm run shell -- <sandbox> (sandboxes of stack dev: main)",
    );
    expect(() => sandboxNamed(stack, "review", "")).toThrow(OpsError);
  });
});

describe("the person-facing commands", () => {
  it("run the stack's own shell and agent commands, the prompt as one quoted word", () => {
    expect(personCommand("shell", INFO, engineClient(), [])).toBe(INFO.shell);
    expect(personCommand("agent", INFO, engineClient(), [])).toBe(INFO.runAgent);
    expect(personCommand("agent", INFO, engineClient(), ["fix", "the $(tests)"])).toBe(`${INFO.runAgent} 'fix the $(tests)'`);
  });

  it("print logs from the stack's engine, passing docker logs flags", () => {
    expect(personCommand("logs", INFO, engineClient({ host: "ssh://me@box" }), ["--tail", "5"])).toBe(
      "DOCKER_HOST='ssh://me@box' docker logs --tail 5 agent-sandbox-dev-main",
    );
  });

  it("say a stopped sandbox is not running and how to start a new one", () => {
    expect(unavailableMessage("shell", "dev", "main", "exited")).toBe(
      "sandbox main of stack dev is not running (exited): npm run refresh -- main starts a new one (home volume and workspace kept)",
    );
    expect(unavailableMessage("agent", "alice", "main", "missing")).toBe(
      "sandbox main of stack alice has no container on the engine: npm run refresh -- main --stack alice starts a new one (home volume and workspace kept)",
    );
  });

  it("let logs read a stopped sandbox, and nothing run on a missing one", () => {
    expect(unavailableMessage("logs", "dev", "main", "exited")).toBeUndefined();
    expect(unavailableMessage("logs", "dev", "main", "missing")).toContain("has no container on the engine");
    expect(unavailableMessage("shell", "dev", "main", "running")).toBeUndefined();
  });
});

describe("what refresh replaces", () => {
  const parent = "urn:pulumi:dev::agent-sandbox::agent-sandbox:index:AgentSandboxes$agent-sandbox:index:AgentSandbox::main";
  const id = "c0ffee";
  const resource = (name: string, type: string, extra: Record<string, unknown> = {}) => ({ urn: `${parent}$${type}::${name}`, type, parent, ...extra });
  const volume = resource("main-home", "docker:index/volume:Volume", { outputs: { name: "agent-sandbox-dev-main-home" } });
  const container = resource("main", "docker:index/container:Container", { id, outputs: { name: INFO.container } });
  const start = resource("main-start", "command:local:Command", { inputs: { triggers: [id] } });
  const clone = resource("main-clone", "command:local:Command", { inputs: { triggers: [id] } });
  const run = { ...resource("run-fix", "command:local:Command", { inputs: { triggers: ["commit-1"] } }), parent: "urn:other" };
  const proxyStart = { ...resource("main-egress-start", "command:local:Command", { inputs: { triggers: ["proxy-id"] } }), parent: `${parent}$x` };

  it("is the sandbox's container and its start command, never its home volume, its proxy or a run", () => {
    expect(sandboxUrns([volume, container, start, run, proxyStart], DOCKER_CONTAINER, INFO.container, "main")).toEqual([container.urn, start.urn]);
  });

  it("takes the clone command of clone mode along, which re-runs with every new container", () => {
    expect(sandboxUrns([volume, container, start, clone], DOCKER_CONTAINER, INFO.container, "main")).toEqual([container.urn, start.urn, clone.urn]);
  });

  it("says to run up when the state has no such container or no start command", () => {
    expect(errorOf(() => sandboxUrns([volume, container, start], DOCKER_CONTAINER, "agent-sandbox-dev-other", "other"))).toBe(
      "the stack's state has no container agent-sandbox-dev-other: run npm run up first",
    );
    expect(errorOf(() => sandboxUrns([container], DOCKER_CONTAINER, INFO.container, "main"))).toBe(
      "the stack's state has no start command of agent-sandbox-dev-main (main-start): run npm run up first",
    );
  });
});

describe("what refresh reports", () => {
  const entry = { name: "main", homeVolume: "agent-sandbox-dev-main-home", before: "b706b6a0d48d1234", after: "13de66011307abcd" };

  it("says what it replaced, the new container and why, and that the home volume stayed", () => {
    expect(refreshReport("dev", [{ ...entry, why: "created 3d 1h ago, limit 72h", kinds: ["age"] }], 8.94)).toBe(
      [
        "replaced main: container b706b6a0d48d → 13de66011307 (created 3d 1h ago, limit 72h); home volume agent-sandbox-dev-main-home kept",
        "refresh: 1 sandbox of stack dev replaced in 8.9s",
      ].join("\n"),
    );
  });

  it("warns that a full workspace stays full", () => {
    const report = refreshReport(
      "dev",
      [
        { ...entry, why: "workspace disk 88% full, limit 80%", kinds: ["disk"] },
        { ...entry, name: "b", before: undefined, why: "asked for by name", kinds: [] },
      ],
      1,
    );
    expect(report.split("\n")).toEqual([
      "replaced main: container b706b6a0d48d → 13de66011307 (workspace disk 88% full, limit 80%); home volume agent-sandbox-dev-main-home kept",
      "  main: its workspace is as full as before (refresh never touches your code); free space there",
      "replaced b: container (none) → 13de66011307 (asked for by name); home volume agent-sandbox-dev-main-home kept",
      "refresh: 2 sandboxes of stack dev replaced in 1.0s",
    ]);
  });
});

describe("the engine the ops scripts talk to", () => {
  it("is the stack's docker.host, over whatever DOCKER_HOST the shell has", () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = "unix:///var/run/docker.sock";
    try {
      const engine = engineFor(engineClient({ host: "tcp://build-box:2375" })) as unknown as { modem: { host?: string; port?: string; socketPath?: string } };
      expect(engine.modem).toMatchObject({ host: "build-box", port: "2375" });
      expect(engine.modem.socketPath).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  it("is reached over ssh through the CLI's connection (the system's ssh and known_hosts), never dockerode's own ssh client", () => {
    const engine = engineFor(engineClient({ host: "ssh://me@build-box" })) as unknown as { modem: { protocol?: string; agent?: unknown } };
    expect(engine.modem.protocol).toBe("http");
    expect(engine.modem.agent).toBeDefined();
  });
});
