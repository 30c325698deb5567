/**
 * Issue #26's ops verbs on the real cluster with the real Pulumi CLI: one sandbox under gVisor in a namespace
 * of its own, then `npm run status`, `logs`, `shell` and `refresh` run as a person runs them (in the copy of
 * the checkout with the stack's backend), reading and reaching the pod through @kubernetes/client-node.
 * Status reports the pod Ready on the stack's image with its refused request; logs show what the sandbox
 * printed; a shell runs as the agent in /workspace, piped or on a terminal, and passes its exit status on;
 * refresh replaces the pod and keeps its home claim; a deleted pod is named with its fix, which works.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { clusterObjectNames } from "../../components/kubernetes/naming";
import { ADMIN_KUBECONFIG, addOutsideAddress, apply, execInPod, KubernetesGate, kubectl, publishUpstreams, upstreamName } from "../../testkit/live/kubernetes";
import { type HostService, PROJECT, startHostService } from "../../testkit/live/live-program";
import { type CliResult, PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";

const STACK = `k8s-ops-${process.pid}`;
const NAMESPACE = `asb-k8s-ops-${process.pid}`;
const MAIN = clusterObjectNames({ project: PROJECT, stack: STACK }, "main");

const cluster = new KubernetesGate();
const engine = new PulumiGate();
let allowed: HostService | undefined;
let unlisted: HostService | undefined;
let stack: RealStack | undefined;
let cleanups: (() => Promise<void>)[] = [];
let deployed: Promise<void> | undefined;

/** One sandbox under gVisor, its agent signed in from its home (no credential proxy), with its egress proxy. */
function stackConfig(): Record<string, unknown> {
  return {
    kubernetes: { namespace: NAMESPACE, kubeconfig: ADMIN_KUBECONFIG },
    image: { ...REGISTRY_BASE_IMAGES, registry: { address: "127.0.0.1:5000", repository: "agent-sandbox/kubernetes-ops-live" }, push: true },
    sandboxes: [
      {
        name: "main",
        auth: "subscription",
        isolation: "gvisor",
        resources: { memory: "1g", cpus: 1 },
        healthcheck: { interval: "2s", timeout: "10s", startPeriod: "1s", retries: 3 },
        egress: {
          allow: [`${upstreamName("allowed")}:${allowed!.port}`],
          healthProbe: { allowed: `http://${upstreamName("allowed")}:${allowed!.port}/` },
        },
      },
    ],
  };
}

async function upOnce(context: TestContext): Promise<RealStack> {
  cluster.requireCluster(context);
  engine.requireCli(context);
  deployed ??= stack!.pulumi(["up", "--yes", "--skip-preview"]).then(() => undefined);
  await deployed;
  return stack!;
}

/** `npm run <script> -- <args> --stack <stack>` (no --stack with --all) with its own HOME (the backend and passphrase are the stack's). */
async function npmRun(script: string, args: string[] = [], input?: string): Promise<CliResult> {
  const home = path.join(stack!.root, "home");
  fs.mkdirSync(home, { recursive: true });
  return stack!.run(
    "npm",
    ["run", "--silent", script, "--", ...args, ...(args.includes("--all") ? [] : ["--stack", STACK])],
    { HOME: home, DOCKER_CONFIG: path.join(os.homedir(), ".docker") },
    { allowFailure: true, ...(input === undefined ? {} : { input }) },
  );
}

const inSandbox = (script: string) => execInPod(NAMESPACE, MAIN.pod, "sandbox", script);
const podUid = async () => JSON.parse((await kubectl(["-n", NAMESPACE, "get", "pod", MAIN.pod, "-o", "json"])).stdout).metadata.uid as string;

async function statusRow(): Promise<{ code: number; row: Record<string, any>; raw: string }> {
  const result = await npmRun("status", ["--json"]);
  const raw = `${result.stdout}\n${result.stderr}`;
  return { code: result.code, row: JSON.parse(result.stdout || "{}").sandboxes?.[0] ?? {}, raw };
}

describe("the ops verbs on a Kubernetes stack (live, real cluster and Pulumi CLI)", () => {
  beforeAll(async () => {
    if (!cluster.ready() || !(await engine.ready())) return;
    cleanups.push(await addOutsideAddress());
    [allowed, unlisted] = await Promise.all([startHostService("allowed-host\n"), startHostService("unlisted-host\n")]);
    cleanups.push(await publishUpstreams({ allowed: allowed.port, unlisted: unlisted.port }));
    await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } });
    stack = await RealStack.create(STACK);
    stack.setConfig(stackConfig());
  }, 300_000);

  afterAll(async () => {
    await stack?.remove();
    await kubectl(["delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false"], { allowFailure: true }).catch(() => undefined);
    await Promise.all([allowed?.close(), unlisted?.close()]);
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups = [];
  }, 300_000);

  it("status reports the pod Ready under gVisor, on the image the stack built, not due, with its refused request; exit 0", async (context) => {
    await upOnce(context);
    const refused = await inSandbox(`curl -s -o /dev/null -w '%{http_code}' --max-time 10 http://${upstreamName("unlisted")}:${unlisted!.port}/`);
    expect(refused.output.trim()).toBe("403");
    const { code, row, raw } = await statusRow();
    expect(code, raw).toBe(0);
    expect(row, raw).toMatchObject({
      name: "main",
      container: MAIN.pod,
      state: "running",
      health: "healthy",
      isolation: "gvisor",
      healthy: true,
      imageCurrent: true,
      refreshDue: false,
      restarts: 0,
      memoryLimitBytes: 1024 ** 3,
      deniedEgress: 1,
    });
    expect(row.imageId, raw).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(row.workspaceDiskPercent, raw).toBeGreaterThanOrEqual(0);
    const table = await npmRun("status");
    console.log(`[live] npm run status:\n${table.stdout}`);
    expect(table.stdout).toMatch(/^main +healthy +gvisor +\S+ +– +– +– +\d+% +current +1 +0 +no$/m);
    const fleet = await npmRun("status", ["--all"]);
    expect(fleet.stdout, fleet.stderr).toContain(`(namespace ${NAMESPACE})`);
  });

  it("logs print what the sandbox wrote, and refuse a flag a pod's log does not take", async (context) => {
    await upOnce(context);
    expect((await inSandbox("echo ops-logs-marker > /proc/1/fd/1")).code).toBe(0);
    const logs = await npmRun("logs", ["main", "--tail", "5"]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain("ops-logs-marker");
    const refused = await npmRun("logs", ["main", "--since", "5m"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("logs: a pod's logs take no --since here; usage: npm run logs -- <sandbox> [--follow]");
  });

  it("shell runs as the agent in /workspace, from a piped script with its exit status, and on a terminal", async (context) => {
    await upOnce(context);
    const piped = await npmRun("shell", ["main"], "id -u; pwd; exit 3\n");
    expect(piped.code, piped.stderr).toBe(3);
    expect(piped.stdout.trim().split("\n")).toEqual(["1000", "/workspace"]);
    // script(1) gives the verb a terminal, as a person's; the typed commands arrive on its stdin.
    const home = path.join(stack!.root, "home");
    const session = await stack!.run(
      "script",
      ["-qec", `npm run --silent shell -- main --stack ${STACK}`, "/dev/null"],
      { HOME: home },
      { input: "id -u; pwd; exit\n" },
    );
    expect(session.stdout).toMatch(/1000\s+\/workspace/);
  });

  it("refresh --due replaces the pod through Pulumi and keeps its home claim", async (context) => {
    const stack = await upOnce(context);
    expect((await inSandbox("echo logged-in > /home/agent/.login-marker")).code).toBe(0);
    const before = await podUid();
    // Any used disk is over 1%: the workspace claim's df, read inside the pod, makes it due.
    stack.setConfig({ ...stackConfig(), refresh: { maxDiskPercent: 1 } });
    const due = await npmRun("status");
    expect(due.code, due.stdout).toBe(1);
    expect(due.stdout).toMatch(/main: refresh due \(disk\): workspace disk \d+% full, limit 1%; npm run refresh -- main/);
    const refreshed = await npmRun("refresh", ["--due"]);
    console.log(`[live] npm run refresh -- --due:\n${refreshed.stdout}`);
    expect(refreshed.code, `${refreshed.stdout}\n${refreshed.stderr}`).toBe(0);
    expect(refreshed.stdout).toMatch(
      new RegExp(`replaced main: pod \\S{12} → \\S{12} \\(workspace disk \\d+% full, limit 1%\\); home claim ${MAIN.home} kept`),
    );
    stack.setConfig(stackConfig());
    expect(await podUid()).not.toBe(before);
    expect((await inSandbox("cat /home/agent/.login-marker")).output.trim()).toBe("logged-in");
    const preview = await stack.pulumi(["preview", "--expect-no-changes"], { allowFailure: true });
    expect(preview.code, `${preview.stdout}\n${preview.stderr}`).toBe(0);
  });

  it("names a deleted pod and its fix, and refresh by name makes a new one", async (context) => {
    await upOnce(context);
    await kubectl(["-n", NAMESPACE, "delete", "pod", MAIN.pod, "--wait=true"]);
    const refused = await npmRun("shell", ["main"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      `shell: sandbox main of stack ${STACK} has no pod on the cluster: npm run refresh -- main --stack ${STACK} starts a new one (home claim and workspace kept)`,
    );
    const { code, row } = await statusRow();
    expect(code).toBe(1);
    expect(row).toMatchObject({ state: "missing", healthy: false });
    const refreshed = await npmRun("refresh", ["main"]);
    expect(refreshed.code, `${refreshed.stdout}\n${refreshed.stderr}`).toBe(0);
    expect(refreshed.stdout).toMatch(/replaced main: pod \(none\) → \S{12} \(asked for by name\)/);
    expect((await statusRow()).row).toMatchObject({ state: "running", health: "healthy" });
  });

  it("destroys everything it made in the namespace", async (context) => {
    const stack = await upOnce(context);
    await stack.pulumi(["destroy", "--yes", "--skip-preview"]);
    deployed = Promise.reject(new Error("destroyed by the last test"));
    deployed.catch(() => undefined);
    const left = (await kubectl(["-n", NAMESPACE, "get", "pods,services,networkpolicies,persistentvolumeclaims,secrets", "-o", "name"])).stdout.trim();
    expect(left).toBe("");
  });
});
