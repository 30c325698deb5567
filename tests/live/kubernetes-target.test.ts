/**
 * Issue #26 on the real cluster with the real Pulumi CLI: a stack with `kubernetes` set deploys its sandboxes
 * as hardened pods under gVisor with their egress and credential proxies. From inside, the allowlist holds
 * and every other way out is refused (DNS, the API server, the node, another sandbox, the metadata address,
 * the stand-ins directly); neither the API key nor the git token is anywhere in the sandbox or in a pod's
 * spec; the real Claude Code CLI runs against the stand-in API through the credential proxy; the repository
 * is cloned over TLS with the token added outside, and the agent's branch pushed back; preview and refresh
 * see no change; the policy pack refuses a privileged pod; destroy leaves nothing in the namespace.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { parse, stringify } from "yaml";
import { clusterObjectNames } from "../../components/kubernetes/naming";
import { type FakeMessagesApi, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import { type GitServer, gitAvailability, startGitServer } from "../../testkit/live/git-server";
import {
  ADMIN_KUBECONFIG,
  addOutsideAddress,
  apply,
  execInPod,
  KubernetesGate,
  kubectl,
  kubectlExecWords,
  nodeAddress,
  OUTSIDE_ADDRESS,
  publishUpstreams,
  upstreamName,
} from "../../testkit/live/kubernetes";
import { type HostService, PROJECT, startHostService, testCa, testTls } from "../../testkit/live/live-program";
import { POLICY_PACK, PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";
import { scanThrough } from "../../testkit/live/secret-scan";

const STACK = `k8s-${process.pid}`;
const NAMESPACE = `asb-k8s-${process.pid}`;
const IDENTITY = { project: PROJECT, stack: STACK };
const MAIN = clusterObjectNames(IDENTITY, "main");
const OTHER = clusterObjectNames(IDENTITY, "other");
const API_KEY = `sk-ant-test-${randomBytes(20).toString("hex")}`;
const GIT_TOKEN = `ghs_test${randomBytes(18).toString("hex")}`;
const SECRETS = { anthropicApiKey: API_KEY, gitToken: GIT_TOKEN } as const;
const SHOW_SETTINGS = "printenv ANTHROPIC_BASE_URL";
const SCRIPT = [
  { kind: "tool_use", name: "Bash", input: { command: SHOW_SETTINGS, description: "show the API settings" }, text: "Checking the settings." },
  { kind: "text", text: "Done." },
  // The ephemeral run's, deployed by a second up after the first run is done.
  { kind: "text", text: "Planned." },
] as const;
const EPHEMERAL_RUN = { name: "plan", sandbox: "main", prompt: "Plan the work.", maxTurns: 2, ephemeral: true, keepFinished: 1 };

const cluster = new KubernetesGate();
const engine = new PulumiGate();
const git = gitAvailability();
let api: FakeMessagesApi | undefined;
let gitServer: GitServer | undefined;
let allowed: HostService | undefined;
let unlisted: HostService | undefined;
let stack: RealStack | undefined;
let cleanups: (() => Promise<void>)[] = [];
let deployed: Promise<void> | undefined;

const repository = () => `${upstreamName("git")}:${gitServer!.port}/org/allowed`;

/** The stack: two sandboxes under gVisor in the test's namespace, main cloning the listed repository and running the agent. */
function stackConfig(extraRuns: Record<string, unknown>[] = [], extraAllow: string[] = []): Record<string, unknown> {
  const sandbox = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    isolation: "gvisor",
    resources: { memory: "1g", cpus: 1 },
    healthcheck: { interval: "2s", timeout: "10s", startPeriod: "1s", retries: 3 },
    apiUpstream: `https://${upstreamName("messages")}:${api!.port}`,
    egress: {
      allow: [`${upstreamName("allowed")}:${allowed!.port}`, ...extraAllow],
      healthProbe: { allowed: `http://${upstreamName("allowed")}:${allowed!.port}/` },
      ...extra,
    },
  });
  return {
    kubernetes: { namespace: NAMESPACE, kubeconfig: ADMIN_KUBECONFIG },
    image: {
      ...REGISTRY_BASE_IMAGES,
      registry: { address: "127.0.0.1:5000", repository: "agent-sandbox/kubernetes-live" },
      push: true,
      extraCaCertsFile: testCa().bundleFile,
    },
    sandboxes: [{ ...sandbox("main", { gitRepos: [repository()] }), repository: repository() }, sandbox("other", { gitRepos: [repository()] })],
    runs: [{ name: "main", sandbox: "main", prompt: "Show the API settings.", maxTurns: 4, allowedTools: [`Bash(${SHOW_SETTINGS})`] }, ...extraRuns],
  };
}

/** Skips without cluster, CLI or git (the REQUIRE_* variables fail instead, in beforeAll); runs `pulumi up` once for all tests. */
async function upOnce(context: TestContext): Promise<RealStack> {
  cluster.requireCluster(context);
  engine.requireCli(context);
  if (!git.available) context.skip(git.reason);
  deployed ??= stack!.pulumi(["up", "--yes", "--skip-preview"]).then(() => undefined);
  await deployed;
  return stack!;
}

const inSandbox = (pod: string, script: string) => execInPod(NAMESPACE, pod, "sandbox", script);
/** A TCP connection's fate from inside: "open" or "refused" (a reject, a reset or a 3 s timeout). */
const tcp = (pod: string, host: string, port: number) =>
  inSandbox(pod, `if timeout 3 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>/dev/null; then echo open; else echo refused; fi`).then((result) =>
    result.output.trim(),
  );
const jsonOf = async (args: string[]) => JSON.parse((await kubectl([...args, "-o", "json"])).stdout);

describe("the Kubernetes target on the local cluster (live, real Pulumi CLI)", () => {
  beforeAll(async () => {
    if (!cluster.ready() || !(await engine.ready())) return;
    if (!git.available) {
      console.warn(`[live] skipped: ${git.reason}`);
      return;
    }
    cleanups.push(await addOutsideAddress());
    api = await startFakeMessagesApi({ host: "0.0.0.0", port: 0, tls: testTls(), script: SCRIPT });
    gitServer = await startGitServer({ host: "0.0.0.0", port: 0, tls: testTls(), token: GIT_TOKEN, repos: ["org/allowed", "org/other"] });
    [allowed, unlisted] = await Promise.all([startHostService("allowed-host\n"), startHostService("unlisted-host\n")]);
    cleanups.push(await publishUpstreams({ messages: api.port, git: gitServer.port, allowed: allowed.port, unlisted: unlisted.port }));
    await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } });
    stack = await RealStack.create(STACK);
    stack.setConfig(stackConfig());
    for (const [key, value] of Object.entries(SECRETS)) await stack.setSecret(key, value);
  }, 300_000);

  afterAll(async () => {
    await stack?.remove();
    await kubectl(["delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false"], { allowFailure: true }).catch(() => undefined);
    await Promise.all([api?.close(), gitServer?.close(), allowed?.close(), unlisted?.close()]);
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups = [];
  }, 300_000);

  it("gives Ready pods: the sandboxes under gVisor, hardened, and their proxies", async (context) => {
    await upOnce(context);
    const pods = await jsonOf(["-n", NAMESPACE, "get", "pods"]);
    const byName = new Map<string, any>(pods.items.map((pod: any) => [pod.metadata.name, pod]));
    for (const name of [MAIN.pod, MAIN.egressProxy, MAIN.credentialProxy, OTHER.pod, OTHER.egressProxy, OTHER.credentialProxy]) {
      const ready = byName.get(name)?.status.conditions?.find((condition: any) => condition.type === "Ready")?.status;
      expect(ready, `${name} Ready`).toBe("True");
    }
    const sandbox = byName.get(MAIN.pod);
    expect(sandbox.spec.runtimeClassName).toBe("gvisor");
    expect(sandbox.spec.automountServiceAccountToken).toBe(false);
    const kernel = await inSandbox(MAIN.pod, "uname -r; id -u");
    const [release, uid] = kernel.output.trim().split("\n");
    expect(release, "a kernel of its own (gVisor's), not the node's").not.toBe(os.release());
    expect(uid).toBe("1000");
    const root = await inSandbox(
      MAIN.pod,
      "awk '$5 == \"/\" { print $6 }' /proc/self/mountinfo; touch /tmp/probe /workspace/probe /home/agent/probe && echo writable",
    );
    expect(root.output.split("\n")[0].split(","), "the root's mount options").toContain("ro");
    expect(root.output).toContain("writable");
  });

  it("reaches an allowed name only through its egress proxy, and nothing else from inside", async (context) => {
    await upOnce(context);
    const through = (url: string) => inSandbox(MAIN.pod, `curl -s -o /dev/null -w '%{http_code}' --max-time 10 ${url}`).then((result) => result.output.trim());
    expect(await through(`http://${upstreamName("allowed")}:${allowed!.port}/`)).toBe("200");
    expect(await through(`http://${upstreamName("unlisted")}:${unlisted!.port}/`)).toBe("403");
    const dns = await inSandbox(MAIN.pod, `getent hosts kubernetes.default.svc.cluster.local || echo unresolved`);
    expect(dns.output.trim()).toBe("unresolved");
    const other = await jsonOf(["-n", NAMESPACE, "get", "pod", OTHER.egressProxy]);
    const otherService = await jsonOf(["-n", NAMESPACE, "get", "service", OTHER.egressProxy]);
    const node = await nodeAddress();
    const closed: [string, number][] = [
      ["10.96.0.10", 53],
      ["10.96.0.1", 443],
      [node, 6443],
      [node, 10250],
      ["169.254.169.254", 80],
      [OUTSIDE_ADDRESS, allowed!.port],
      [other.status.podIP, 3128],
      [otherService.spec.clusterIP, 3128],
    ];
    for (const [host, port] of closed) expect(`${host}:${port} ${await tcp(MAIN.pod, host, port)}`).toBe(`${host}:${port} refused`);
    expect(await tcp(MAIN.pod, "egress-proxy", 3128), "its own egress proxy").toBe("open");
  });

  it("runs the real agent through the credential proxy, and holds neither secret in the sandbox or any pod's spec", async (context) => {
    const stack = await upOnce(context);
    const runs = (await stack.outputs()).runOutputs;
    expect(runs.main, JSON.stringify(runs)).toMatchObject({ success: true, result: "Done." });
    expect(api!.credentialProblems(API_KEY)).toEqual([]);
    const scan = await scanThrough(kubectlExecWords(NAMESPACE, MAIN.pod, "sandbox"), [API_KEY, GIT_TOKEN]);
    expect(scan.environ, scan.output.slice(-2000)).toBeGreaterThan(0);
    expect(scan.leaks, scan.output.slice(-4000)).toEqual([]);
    const specs = (await kubectl(["-n", NAMESPACE, "get", "pods,services,networkpolicies,persistentvolumeclaims", "-o", "json"])).stdout;
    expect(specs.includes(API_KEY) || specs.includes(GIT_TOKEN), "a secret in a pod's spec").toBe(false);
    expect(JSON.stringify(await stack.outputs())).not.toContain(API_KEY);
    expect(stack.stateText()).not.toContain(API_KEY);
    expect(stack.stateText()).not.toContain(GIT_TOKEN);
  });

  it("clones the listed repository over TLS with the token added outside, and pushes the agent's branch back", async (context) => {
    await upOnce(context);
    const log = await inSandbox(MAIN.pod, "git -C /workspace log --format=%s -1 && git -C /workspace config remote.origin.url");
    expect(log.code, log.output).toBe(0);
    expect(log.output).toContain(`https://${repository()}.git`);
    const push = await inSandbox(
      MAIN.pod,
      "cd /workspace && git checkout -q -b fix && echo fixed > fixed.txt && git add fixed.txt && git -c user.name=agent -c user.email=agent@sandbox commit -q -m 'the agent fix' && git push -q origin '+refs/heads/*:refs/heads/sandbox/main/*' 2>&1",
    );
    expect(push.code, push.output).toBe(0);
    const refs = fs.readdirSync(path.join(gitServer!.bareRepoPath("org/allowed"), "refs/heads/sandbox/main"));
    expect(refs.sort()).toEqual(["fix", "main"]);
    expect(
      gitServer!.requests.filter((request) => !request.authorized),
      "every request carried the token",
    ).toEqual([]);
    const refused = await inSandbox(MAIN.pod, `git ls-remote https://${upstreamName("git")}:${gitServer!.port}/org/other.git 2>&1`);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/egress\.gitRepos/);
  });

  it("runs an ephemeral run in a Job of its own made from the sandbox's pod, and keeps it finished", async (context) => {
    const stack = await upOnce(context);
    stack.setConfig(stackConfig([EPHEMERAL_RUN]));
    await stack.pulumi(["up", "--yes", "--skip-preview"]);
    const runs = (await stack.outputs()).runOutputs;
    expect(runs.plan, JSON.stringify(runs)).toMatchObject({ success: true, result: "Planned." });
    const jobs = await jsonOf(["-n", NAMESPACE, "get", "jobs", "-l", "dev.agent-sandbox.run=plan"]);
    expect(jobs.items, "the one kept Job").toHaveLength(1);
    const [job] = jobs.items;
    // The run is over when its script asks the pod to end; the Job completes a moment later.
    const complete = await kubectl(["-n", NAMESPACE, "wait", "--for=condition=Complete", `job/${job.metadata.name}`, "--timeout=60s"], { allowFailure: true });
    expect(complete.code, `finished, not deleted (keepFinished 1): ${complete.stdout}${complete.stderr}`).toBe(0);
    const template = job.spec.template.spec;
    expect(template.runtimeClassName).toBe("gvisor");
    expect(template.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(job.spec.template.metadata.labels["dev.agent-sandbox.role"], "no role: its sandbox's NetworkPolicy takes it").toBeUndefined();
  });

  it("replaces only the egress proxy's pod when the allowlist changes, and the new entry is reachable", async (context) => {
    const stack = await upOnce(context);
    const uid = async (pod: string) => (await jsonOf(["-n", NAMESPACE, "get", "pod", pod])).metadata.uid as string;
    const [sandboxBefore, proxyBefore] = [await uid(MAIN.pod), await uid(MAIN.egressProxy)];
    const unlistedUrl = `http://${upstreamName("unlisted")}:${unlisted!.port}/`;
    stack.setConfig(stackConfig([EPHEMERAL_RUN], [`${upstreamName("unlisted")}:${unlisted!.port}`]));
    await stack.pulumi(["up", "--yes", "--skip-preview"]);
    expect(await uid(MAIN.pod), "the sandbox pod").toBe(sandboxBefore);
    expect(await uid(MAIN.egressProxy), "the egress proxy pod").not.toBe(proxyBefore);
    // A new proxy pod's policy and Service endpoints catch up a moment after it is Ready.
    let status = "";
    for (let attempt = 0; attempt < 10 && status !== "200"; attempt++) {
      status = (await inSandbox(MAIN.pod, `curl -s -o /dev/null -w '%{http_code}' --max-time 5 ${unlistedUrl}`)).output.trim();
      if (status !== "200") await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(status, "the entry the change allowed").toBe("200");
  });

  it("previews and refreshes no change after up, and the policy pack refuses a pod edited to be privileged", async (context) => {
    const stack = await upOnce(context);
    await stack.pulumi(["preview", "--expect-no-changes"]);
    await stack.pulumi(["refresh", "--yes", "--expect-no-changes"]);
    const passed = await stack.pulumi(["preview", "--policy-pack", POLICY_PACK], { allowFailure: true });
    expect(passed.code, `${passed.stdout}\n${passed.stderr}`).toBe(0);
    fs.writeFileSync(
      path.join(stack.programDir, "unsafe.ts"),
      [
        'import * as pulumi from "@pulumi/pulumi";',
        "// The hand edit the policy pack exists for: the sandbox pod's container turned privileged.",
        'pulumi.runtime.registerResourceTransform((args) => (args.type === "kubernetes:core/v1:Pod" && args.name === "main" ? { props: { ...args.props, spec: { ...args.props.spec, containers: args.props.spec.containers.map((c: any) => ({ ...c, securityContext: { ...c.securityContext, privileged: true } })) } }, opts: args.opts } : undefined));',
        'export * from "./index";',
        "",
      ].join("\n"),
    );
    const project = path.join(stack.programDir, "Pulumi.yaml");
    const original = fs.readFileSync(project, "utf8");
    fs.writeFileSync(project, stringify({ ...parse(original), main: "unsafe.ts" }));
    const refused = await stack.pulumi(["preview", "--policy-pack", POLICY_PACK], { allowFailure: true }).finally(() => fs.writeFileSync(project, original));
    const output = `${refused.stdout}\n${refused.stderr}`;
    expect(refused.code, output).not.toBe(0);
    expect(output).toMatch(/not-privileged/);
  });

  it("destroys everything it made in the namespace", async (context) => {
    const stack = await upOnce(context);
    await stack.pulumi(["destroy", "--yes"]);
    deployed = Promise.reject(new Error("destroyed by the last test"));
    deployed.catch(() => undefined);
    const left = (await kubectl(["-n", NAMESPACE, "get", "pods,services,networkpolicies,persistentvolumeclaims,secrets,jobs", "-o", "name"])).stdout.trim();
    expect(left).toBe("");
  });
});
