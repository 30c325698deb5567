/**
 * The real engine in the loop: the Pulumi CLI with its Node language host and the real docker, docker-build
 * and command providers run a copy of the real program on a file backend, against the local Docker engine.
 * What the harness re-implements is proven here by the providers themselves: preview, up, refresh and
 * destroy, what a config or Dockerfile change replaces, the policy pack, and where the secrets go.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_GATEWAY_NAME } from "../../components/engine/host-gateway";
import { LABEL_PREFIX, sandboxObjectNames } from "../../components/engine/naming";
import { docker, enginePidsLimitOf, execIn, logsOf, waitHealthy } from "../../testkit/live/engine";
import { type FakeMessagesApi, type ScriptedTurn, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import { liveEnginePids } from "../../testkit/live/isolation";
import { onPodman } from "../../testkit/live/live-engine";
import { agentWorkspace, type HostService, liveConfig, PROJECT, sandboxEntry, startHostService, testTls } from "../../testkit/live/live-program";
import { POLICY_PACK, type PreviewStep, PulumiGate, REGISTRY_BASE_IMAGES, RealStack, replacedBy, typeAndName } from "../../testkit/live/pulumi-cli";
import { treeHash } from "../../testkit/live/workspace-files";
import { evaluateProgram } from "../unit/support/program";
import { WRITTEN_CONTENT, WRITTEN_FILE } from "./support/claude-scenarios";

const STACK = `real-${process.pid}`;
const API_KEY = `test-key-${randomBytes(12).toString("hex")}`;
const PROMPT = `Create ${WRITTEN_FILE} saying hello, then say you are done.`;
const FINAL_TEXT = `Created ${WRITTEN_FILE} for you.`;
const SCRIPT: ScriptedTurn[] = [
  { kind: "tool_use", name: "Write", input: { file_path: `/workspace/${WRITTEN_FILE}`, content: WRITTEN_CONTENT }, text: `I'll create ${WRITTEN_FILE}.` },
  { kind: "text", text: FINAL_TEXT },
];
const NAMES = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main");
/** The key the engine marks a secret value with in state files (sdk/go/common/resource/sig). */
const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";
/** Steps that change nothing. */
const UNCHANGED_OPS = new Set(["same", "read", "refresh"]);

const gate = new PulumiGate();
let probe: HostService;
let api: FakeMessagesApi;
let workspace: string;
let stack: RealStack;

function configFor(options: { prompt?: string; allow?: string[] } = {}): Record<string, unknown> {
  return liveConfig({
    image: REGISTRY_BASE_IMAGES,
    sandboxes: [
      sandboxEntry({
        name: "main",
        workspace,
        probe,
        apiPort: api.port,
        egress: options.allow ? { allow: options.allow } : {},
      }),
    ],
    runs: [{ name: "write-hello", sandbox: "main", prompt: options.prompt ?? PROMPT, maxTurns: 5 }],
  });
}

/** `type::name` of each resource, the stack and the providers (`pulumi:…` types) aside. */
const resourcesOf = (urns: string[]): string[] => [...new Set(urns.map(typeAndName))].filter((resource) => !resource.startsWith("pulumi:")).sort();

/** `type::name` of every resource a preview would change. */
const changedBy = (steps: PreviewStep[]): string[] => resourcesOf(steps.filter((step) => !UNCHANGED_OPS.has(step.op)).map((step) => step.urn));

async function labelledObjects(): Promise<string[]> {
  const filter = ["--filter", `label=${LABEL_PREFIX}.stack=${STACK}`];
  const lists = await Promise.all([docker("ps", "-aq", ...filter), docker("network", "ls", "-q", ...filter), docker("volume", "ls", "-q", ...filter)]);
  return lists.flatMap((list) => list.split("\n").filter(Boolean));
}

describe("the real Pulumi engine (live)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    probe = await startHostService("probe-ok\n");
    api = await startFakeMessagesApi({ host: "0.0.0.0", port: 0, tls: testTls(), script: SCRIPT });
    workspace = agentWorkspace("agent-sandbox-real-");
    stack = await RealStack.create(STACK);
    stack.setConfig(configFor());
    await stack.setSecret("anthropicApiKey", API_KEY);
  });

  afterAll(async () => {
    await stack?.remove();
    await Promise.all([probe?.close(), api?.close()]);
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("previews every resource the program declares, and nothing else", async (context) => {
    gate.requireCli(context);
    const steps = await stack.previewSteps();
    const declared = await evaluateProgram({ config: configFor(), secrets: { anthropicApiKey: API_KEY } });
    expect(resourcesOf(steps.map((step) => step.urn))).toEqual(resourcesOf(declared.urns));
    expect(
      steps.every((step) => step.op === "create"),
      JSON.stringify(steps.map((step) => step.op)),
    ).toBe(true);
  });

  it("provisions with up: healthy sandbox and proxy, the run done through the credential proxy, working outputs", async (context) => {
    gate.requireCli(context);
    await stack.pulumi(["up", "--yes", "--skip-preview"]);
    const [sandbox, proxy] = await Promise.all([waitHealthy(NAMES.container), waitHealthy(NAMES.proxyContainer)]);
    expect(`${sandbox.State.Health?.Status} ${proxy.State.Health?.Status}`).toBe("healthy healthy");
    expect(await enginePidsLimitOf(sandbox)).toBe(liveEnginePids(1024));

    const outputs = await stack.outputs();
    expect(outputs.runOutputs["write-hello"], JSON.stringify(outputs.runOutputs)).toMatchObject({ success: true, result: FINAL_TEXT });
    expect(fs.readFileSync(path.join(workspace, WRITTEN_FILE), "utf8")).toBe(WRITTEN_CONTENT);
    expect(
      api.requests.some((request) => request.apiKey === API_KEY),
      "the stand-in API never saw the stack's key",
    ).toBe(true);
    expect(api.credentialProblems(API_KEY)).toEqual([]);
    // The credential proxy, not the sandbox's egress proxy, reaches the apiUpstream.
    expect(await logsOf(NAMES.proxyContainer)).not.toContain(`${HOST_GATEWAY_NAME}:${api.port}`);

    // The shell command as a person would type it: `docker exec -it` wants a terminal, which script(1) gives.
    const shell = String(outputs.sandboxOutputs.main.shell);
    const session = await shellSession(shell, "id -u; pwd; exit\n");
    expect(session).toMatch(/1000\s+\/workspace/);
  });

  it("runs the agent as 1000 without capabilities, with no-new-privileges and seccomp, on a read-only root, within its memory limit", async (context) => {
    gate.requireCli(context);
    const probe = await execIn(
      NAMES.container,
      "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; id -u; " +
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    );
    // As root in the container, who owns /etc: only the read-only root stops the write (gVisor tells the agent
    // user "Permission denied" before it looks at the mount).
    const rootTouch = await execIn(NAMES.container, "touch /etc/probe", { user: "0:0" });
    const facts = Object.fromEntries(probe.output.split("\n").flatMap((line) => (/^\w+:\t/.test(line) ? [line.split(":\t")] : [])));
    expect(facts, probe.output).toEqual({ CapEff: "0000000000000000", CapBnd: "0000000000000000", NoNewPrivs: "1", Seccomp: "2" });
    expect(probe.output).toMatch(/^1000$/m);
    expect(rootTouch, JSON.stringify(rootTouch)).toMatchObject({ exitCode: 1, output: expect.stringContaining("Read-only file system") });
    // The default sandbox's 8g (components/sandbox/config.ts), as the kernel enforces it.
    expect(probe.output).toMatch(new RegExp(`^${8 * 1024 ** 3}$`, "m"));
  });

  it("keeps the host from the sandbox except through its proxy: the internal network's gateway does not answer", async (context) => {
    gate.requireCli(context);
    // Docker leaves the host no address there (inhibit_ipv4); Podman keeps one, which the host's firewall chain drops.
    const [network] = JSON.parse(await docker("network", "inspect", NAMES.network));
    const gateway = String(network.IPAM?.Config?.[0]?.Gateway ?? "");
    expect(gateway, JSON.stringify(network.IPAM)).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const direct = await execIn(NAMES.container, `curl -sS --noproxy '*' --max-time 5 http://${gateway}:${probe.port}/`);
    expect(direct.exitCode, `the host answered at ${gateway}:${probe.port}: ${direct.output}`).not.toBe(0);
    const proxied = await execIn(NAMES.container, `curl -sS --max-time 10 ${probe.sandboxUrl}`);
    expect(proxied.output.trim(), JSON.stringify(proxied)).toBe("probe-ok");
  });

  it("shows no changes in a preview or a refresh right after up", async (context) => {
    gate.requireCli(context);
    const preview = await stack.pulumi(["preview", "--expect-no-changes", "--diff"], { allowFailure: true });
    expect(preview.code, `${preview.stdout}\n${preview.stderr}`).toBe(0);
    if (onPodman) {
      // Podman 4.3 reports ALL dropped capabilities one by one (docs/engines-and-images.md, "Podman"): after a
      // refresh that is the one difference left, on the containers only; every other spelling of its own is ignored.
      await stack.pulumi(["refresh", "--yes"]);
      try {
        const drifted = (await stack.previewSteps()).filter((step) => !UNCHANGED_OPS.has(step.op));
        const containers = drifted.filter((step) => typeAndName(step.urn).startsWith("docker:index/container:Container::"));
        expect(containers.map((step) => step.diffReasons)).toEqual([["capabilities"], ["capabilities"], ["capabilities"]]);
        // Besides them, only their start commands, which a replaced container's new ID triggers.
        const others = drifted.filter((step) => !containers.includes(step)).map((step) => typeAndName(step.urn));
        expect(others.sort()).toEqual(containers.map((step) => `command:local:Command::${typeAndName(step.urn).split("::")[1]}-start`).sort());
      } finally {
        await stack.pulumi(["up", "--yes", "--skip-preview"]);
      }
      return;
    }
    const refresh = await stack.pulumi(["refresh", "--yes", "--expect-no-changes", "--diff"], { allowFailure: true });
    expect(refresh.code, `${refresh.stdout}\n${refresh.stderr}`).toBe(0);
  });

  it("re-runs only the run when only its prompt changes", async (context) => {
    gate.requireCli(context);
    stack.setConfig(configFor({ prompt: `${PROMPT} Again.` }));
    try {
      const steps = await stack.previewSteps();
      // Beside the run, only its risky-change report's two commands: the manifest taken just before it, and
      // the comparison after it (whose trigger, the run's new stdout, is unknown until the run has run).
      const report = ["command:local:Command::run-write-hello-baseline", "command:local:Command::run-write-hello-changes"];
      expect(changedBy(steps)).toEqual(["command:local:Command::run-write-hello", ...report]);
      // An update of a local.Command without an `update` script runs its `create` again: the agent re-runs.
      const run = steps.find((step) => typeAndName(step.urn) === "command:local:Command::run-write-hello");
      expect(run?.op).toBe("update");
      expect(replacedBy(steps).map(typeAndName).sort()).toEqual(report);
    } finally {
      stack.setConfig(configFor());
    }
  });

  it("replaces only the sandbox's egress proxy when only the allowlist changes", async (context) => {
    gate.requireCli(context);
    stack.setConfig(configFor({ allow: ["registry.example.com"] }));
    try {
      const steps = await stack.previewSteps();
      // The proxy container and its start command: the sandbox's own container and the image stay.
      expect(changedBy(steps)).toEqual(["command:local:Command::main-egress-start", "docker:index/container:Container::main-egress"]);
      for (const step of steps.filter((candidate) => !UNCHANGED_OPS.has(candidate.op)))
        expect(step.urn, `${step.op} ${step.urn}`).toMatch(/agent-sandbox:index:EgressProxy\$|pulumi:pulumi:Stack/);
      expect(replacedBy(steps).map(typeAndName)).toContain("docker:index/container:Container::main-egress");
    } finally {
      stack.setConfig(configFor());
    }
  });

  it("replaces the sandbox when only its healthcheck changes, an edit the pinned provider would otherwise ignore", async (context) => {
    gate.requireCli(context);
    const config = configFor();
    const [sandbox] = config.sandboxes as Record<string, any>[];
    stack.setConfig({ ...config, sandboxes: [{ ...sandbox, healthcheck: { ...sandbox.healthcheck, retries: 5 } }] });
    try {
      const steps = await stack.previewSteps();
      expect(replacedBy(steps).map(typeAndName)).toEqual(["command:local:Command::main-start", "docker:index/container:Container::main"]);
    } finally {
      stack.setConfig(configFor());
    }
  });

  it("replaces the sandbox when a changed Dockerfile rebuilds the image", async (context) => {
    gate.requireCli(context);
    const dockerfile = path.join(stack.programDir, "docker/agent/Dockerfile");
    const original = fs.readFileSync(dockerfile, "utf8");
    fs.writeFileSync(dockerfile, `${original}\nLABEL dev.agent-sandbox.test=rebuilt\n`);
    try {
      const replaced = replacedBy(await stack.previewSteps()).map(typeAndName);
      expect(replaced).toContain("docker:index/container:Container::main");
      expect(replaced).not.toContain("docker:index/container:Container::main-egress");
    } finally {
      fs.writeFileSync(dockerfile, original);
    }
  });

  it("passes the policy pack, and a copy edited to run the sandbox privileged is refused with the policy's message", async (context) => {
    gate.requireCli(context);
    const passed = await stack.pulumi(["preview", "--policy-pack", POLICY_PACK], { allowFailure: true });
    expect(passed.code, `${passed.stdout}\n${passed.stderr}`).toBe(0);

    const unsafe = await RealStack.create(`${STACK}-unsafe`, { entry: "unsafe.ts" });
    try {
      fs.writeFileSync(
        path.join(unsafe.programDir, "unsafe.ts"),
        [
          'import * as pulumi from "@pulumi/pulumi";',
          "// The hand edit the policy pack exists for: the sandbox container turned privileged.",
          'pulumi.runtime.registerResourceTransform((args) => (args.type === "docker:index/container:Container" && args.name === "main" ? { props: { ...args.props, privileged: true }, opts: args.opts } : undefined));',
          'export * from "./index";',
          "",
        ].join("\n"),
      );
      unsafe.setConfig(configFor());
      await unsafe.setSecret("anthropicApiKey", API_KEY);
      const refused = await unsafe.pulumi(["preview", "--policy-pack", POLICY_PACK], { allowFailure: true });
      const output = `${refused.stdout}\n${refused.stderr}`;
      expect(refused.code, output).not.toBe(0);
      expect(output).toMatch(/not-privileged/);
      expect(output).toContain("privileged is true; set privileged: false");
    } finally {
      await unsafe.remove();
    }
  });

  it("keeps the API key encrypted in the stack file and the state, and out of every output", async (context) => {
    gate.requireCli(context);
    const stackFile = fs.readFileSync(path.join(stack.programDir, `Pulumi.${STACK}.yaml`), "utf8");
    expect(stackFile).toMatch(/anthropicApiKey:\s+secure: /);
    expect(stackFile).not.toContain(API_KEY);
    const state = stack.stateText();
    expect(state).toContain(SECRET_SIGNATURE);
    expect(state).not.toContain(API_KEY);
    expect(JSON.stringify(await stack.outputs())).not.toContain(API_KEY);
  });

  it("destroys everything it made and leaves the workspace byte-identical", async (context) => {
    gate.requireCli(context);
    const before = treeHash(workspace);
    expect(await labelledObjects()).not.toEqual([]);
    await stack.pulumi(["destroy", "--yes", "--skip-preview"]);
    expect(await labelledObjects()).toEqual([]);
    expect(treeHash(workspace)).toBe(before);
  });
});

/** Runs a command that wants a terminal (docker exec -it) under script(1), typing `input`; returns what it printed. */
async function shellSession(command: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk));
    child.on("error", reject);
    child.on("close", () => resolve(output));
    child.stdin.end(input);
  });
}
