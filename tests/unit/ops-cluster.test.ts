/**
 * The ops verbs on a Kubernetes stack, with @kubernetes/client-node faked at its calls (ClusterClient): what
 * status makes of a pod, what the verbs refuse and say, and what refresh replaces and reports.
 */
import type { V1Pod, V1Status } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { SandboxInfo } from "../../components/agent-sandboxes";
import { clusterObjectNames } from "../../components/kubernetes/naming";
import { type ClusterClient, clusterSandboxFacts, exitCodeOf, podFacts, quantityBytes } from "../../scripts/ops/cluster-facts";
import { attachedCommand, clusterSite, logOptions } from "../../scripts/ops/cluster-site";
import { engineLabel, stackProblem, stackRows } from "../../scripts/ops/fleet-report";
import { unavailableMessage } from "../../scripts/ops/person-commands";
import { CLUSTER_POD, refreshReport, sandboxUrns } from "../../scripts/ops/refresh-plan";
import { OpsError, opsStackOf } from "../../scripts/ops/stack-outputs";
import { stackReport } from "../../scripts/ops/status";
import { NOW } from "./support/sandbox-facts";

const IDENTITY = { project: "agent-sandbox", stack: "team" };
const NAMES = clusterObjectNames(IDENTITY, "main");
const CLUSTER = { namespace: "agents", kubeconfig: "/home/me/.kube/config" };
const DIGEST = `sha256:${"a".repeat(64)}`;
const INFO: SandboxInfo = {
  container: NAMES.pod,
  agent: "claude",
  imageDigest: DIGEST,
  homeVolume: NAMES.home,
  shell: "",
  runAgent: "",
  deniedEgressLog: "kubectl logs …",
};
const STARTED = new Date(NOW.getTime() - 2 * 3600_000);

/** A pod as the API returns it: Running and Ready under gVisor, on the stack's image, unless `extra` says otherwise. */
function pod(extra: { ready?: boolean; phase?: string; imageDigest?: string; waiting?: { reason: string; message?: string } } = {}): V1Pod {
  const ready = extra.ready ?? true;
  return {
    metadata: {
      name: NAMES.pod,
      uid: "0d6c1f7e-5a1b-4c1e-9a7f-1234567890ab",
      labels: { "dev.agent-sandbox.project": IDENTITY.project, "dev.agent-sandbox.stack": IDENTITY.stack },
    },
    spec: {
      runtimeClassName: "gvisor",
      containers: [
        {
          name: "sandbox",
          resources: { limits: { memory: "1Gi", cpu: "1" } },
          env: [{ name: "AGENT_EGRESS_PROBE_DENIED", value: "http://egress-denied-probe.invalid/" }],
        },
      ],
    },
    status: {
      phase: extra.phase ?? "Running",
      startTime: STARTED,
      conditions: [{ type: "Ready", status: ready ? "True" : "False", ...(ready ? {} : { message: "containers with unready status: [sandbox]" }) }],
      containerStatuses: [
        {
          name: "sandbox",
          image: "127.0.0.1:5000/agents:latest",
          imageID: `127.0.0.1:5000/agents@${extra.imageDigest ?? DIGEST}`,
          restartCount: 2,
          ready,
          state: extra.waiting ? { waiting: extra.waiting } : { running: {} },
        },
      ],
    },
  } as V1Pod;
}

const notFound = () => Object.assign(new Error("HTTP-Code: 404 Message: pods not found"), { code: 404 });

/** The client library's calls, answered from these: the pod (or none), the proxy's log, a df line; the calls made are recorded. */
function fakeClient(answers: { pod?: V1Pod; proxyLog?: string; df?: string; namespace?: boolean }) {
  const calls: { logOf?: unknown; exec: string[][] } = { exec: [] };
  const client: ClusterClient = {
    core: {
      readNamespace: (async () => {
        if (answers.namespace === false) throw notFound();
        return {};
      }) as never,
      readNamespacedPod: (async () => {
        if (!answers.pod) throw notFound();
        return answers.pod;
      }) as never,
      readNamespacedPodLog: (async (request: unknown) => {
        calls.logOf = request;
        return answers.proxyLog ?? "";
      }) as never,
    },
    exec: {
      exec: (async (_namespace: string, _pod: string, _container: string, command: string[], stdout: NodeJS.WritableStream, ...rest: unknown[]) => {
        calls.exec.push(command);
        stdout.write(answers.df ?? "");
        (rest[3] as (status: V1Status) => void)({ status: "Success" });
        return { on: () => undefined };
      }) as never,
    },
    log: { log: (async () => new AbortController()) as never },
  };
  return { client, calls };
}

const DF = "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 1000 870 130 87% /workspace\n";
const SQUID = [
  "1 TCP_DENIED/403 GET http://unlisted.example.com/ -",
  "2 TCP_DENIED/403 GET http://egress-denied-probe.invalid/ -",
  "3 TCP_TUNNEL/200 CONNECT allowed.example.com:443 -",
].join("\n");

describe("status on a cluster", () => {
  it("reads a Ready pod as healthy, with its kernel, start, image digest, restarts and memory limit", () => {
    expect(podFacts("main", INFO, pod())).toMatchObject({
      state: "running",
      health: "healthy",
      isolation: "gvisor",
      createdAt: STARTED,
      imageId: DIGEST,
      restarts: 2,
      memoryLimitBytes: 1024 ** 3,
    });
  });

  it("reads a running pod that is not Ready as unhealthy, saying why", () => {
    const facts = podFacts("main", INFO, pod({ ready: false, waiting: { reason: "CrashLoopBackOff", message: "back-off 20s" } }));
    expect(facts).toMatchObject({ health: "unhealthy", healthOutput: "containers with unready status: [sandbox]; CrashLoopBackOff; back-off 20s" });
  });

  it("shows a pending pod by its phase and a missing one as missing", () => {
    expect(podFacts("main", INFO, pod({ phase: "Pending" }))).toMatchObject({ state: "pending", health: undefined });
    expect(podFacts("main", INFO, undefined)).toEqual({ name: "main", container: NAMES.pod, state: "missing" });
  });

  it("reads the workspace disk inside the pod and counts its egress proxy's refusals since the pod started, not the probe's", async () => {
    const { client, calls } = fakeClient({ pod: pod(), proxyLog: SQUID, df: DF });
    const facts = await clusterSandboxFacts(client, CLUSTER, "main", INFO);
    expect(facts).toMatchObject({ workspaceDiskPercent: 87, deniedEgress: 1 });
    expect(calls.exec).toEqual([["df", "-P", "/workspace"]]);
    expect(calls.logOf).toMatchObject({ name: NAMES.egressProxy, namespace: "agents", container: "egress-proxy" });
  });

  it("asks nothing inside a pod that is not Ready", async () => {
    const { client, calls } = fakeClient({ pod: pod({ ready: false }), df: DF });
    expect((await clusterSandboxFacts(client, CLUSTER, "main", INFO)).workspaceDiskPercent).toBeUndefined();
    expect(calls.exec).toEqual([]);
  });

  it("judges the image by the digest the stack built, and makes a pod on another one due", () => {
    const stack = opsStackOf({ sandboxOutputs: { main: INFO } }, { "agent-sandbox:kubernetes": '{"namespace":"agents"}' }, "team");
    const stale = `sha256:${"b".repeat(64)}`;
    const [current] = stackRows(stack, [podFacts("main", INFO, pod())], NOW);
    const [behind] = stackRows(stack, [podFacts("main", INFO, pod({ imageDigest: stale }))], NOW);
    expect(current).toMatchObject({ imageCurrent: true, refreshDue: false });
    expect(behind.refreshReasons).toEqual([{ kind: "image", detail: `runs ${"b".repeat(12)}, the stack last built ${"a".repeat(12)}` }]);
  });

  it("calls a stack's missing namespace unreachable, naming the cluster and how to check it", async () => {
    const site = clusterSite(CLUSTER, { client: fakeClient({ namespace: false }).client, server: "https://10.0.0.1:6443" });
    const reason = await site.unreachable();
    expect(reason).toBe("it has no namespace agents");
    expect(engineLabel(site.address)).toBe("https://10.0.0.1:6443 (namespace agents)");
    expect(stackProblem({ stack: "team", engine: { ...site.address, reachable: false, reason }, sandboxes: [] })).toBe(
      "team: engine unreachable at https://10.0.0.1:6443 (the cluster of its kubernetes section): it has no namespace agents; check it with: kubectl --kubeconfig /home/me/.kube/config -n agents get pods",
    );
  });

  it("makes a kubeconfig it cannot read the stack's own problem, naming the file and where it came from", async () => {
    const stack = opsStackOf(
      { sandboxOutputs: { main: INFO } },
      { "agent-sandbox:kubernetes": '{"namespace":"agents","kubeconfig":"/nonexistent/kubeconfig"}' },
      "team",
    );
    const report = await stackReport(stack, NOW, {});
    expect(report.sandboxes).toEqual([]);
    expect(report.error).toMatch(/^cannot read the kubeconfig \/nonexistent\/kubeconfig \(kubernetes\.kubeconfig, else KUBECONFIG, else ~\/\.kube\/config\): /);
  });

  it("reads quantities of bytes as the API spells them", () => {
    expect([quantityBytes("1Gi"), quantityBytes("512M"), quantityBytes("1073741824"), quantityBytes("1.5Gi"), quantityBytes("lots")]).toEqual([
      1024 ** 3,
      512e6,
      1073741824,
      1.5 * 1024 ** 3,
      undefined,
    ]);
  });
});

describe("the stack's kubernetes section", () => {
  it("sends the verbs to its namespace with its kubeconfig", () => {
    const stack = opsStackOf({}, { "agent-sandbox:kubernetes": '{"namespace":"agents","kubeconfig":"/etc/k.conf","context":"lab"}' }, "team");
    expect(stack.cluster).toEqual({ namespace: "agents", kubeconfig: "/etc/k.conf", context: "lab" });
  });

  it("refuses a namespace the cluster would not take, naming the key", () => {
    const read = () => opsStackOf({}, { "agent-sandbox:kubernetes": '{"namespace":"Agents!"}' }, "team");
    expect(read).toThrow(OpsError);
    expect(read).toThrow(/^kubernetes\.namespace: must be a namespace name: .* \(stack team\)$/);
  });
});

describe("shell, agent and logs on a cluster", () => {
  it("refuse a running pod that is not Ready, with where to see why and the fix", () => {
    expect(unavailableMessage("shell", "team", "main", "running", { notReady: "containers with unready status: [sandbox]", workload: CLUSTER_POD })).toBe(
      "sandbox main of stack team is not Ready (containers with unready status: [sandbox]): npm run status --stack team shows why; npm run refresh -- main --stack team starts a new one (home claim and workspace kept)",
    );
    expect(unavailableMessage("logs", "team", "main", "running", { notReady: "starting", workload: CLUSTER_POD })).toBeUndefined();
  });

  it("say a missing pod has none on the cluster", () => {
    expect(unavailableMessage("agent", "dev", "main", "missing", { workload: CLUSTER_POD })).toBe(
      "sandbox main of stack dev has no pod on the cluster: npm run refresh -- main starts a new one (home claim and workspace kept)",
    );
  });

  it("run bash for a shell and the agent's CLI with the prompt as one argument", () => {
    expect(attachedCommand("shell", "claude", [])).toEqual(["bash"]);
    expect(attachedCommand("agent", "claude", ["fix", "the tests"])).toEqual(["agent-exec", "claude", "fix the tests"]);
  });

  it("take docker's logs flags a pod's log has, and name the ones it takes otherwise", () => {
    expect(logOptions(["--follow", "--tail", "50", "-t"])).toEqual({ follow: true, tailLines: 50, timestamps: true });
    expect(logOptions(["--tail=5", "--previous"])).toEqual({ tailLines: 5, previous: true });
    expect(() => logOptions(["--since", "5m"])).toThrow(
      "a pod's logs take no --since here; usage: npm run logs -- <sandbox> [--follow] [--tail N] [--timestamps] [--previous] [--stack NAME]",
    );
    expect(() => logOptions(["--tail", "all"])).toThrow(/--tail takes a number of lines/);
  });

  it("pass the command's exit status on from the API's closing status", () => {
    expect(exitCodeOf({ status: "Success" })).toBe(0);
    expect(exitCodeOf({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "3" }] } })).toBe(3);
    expect(exitCodeOf({ status: "Failure", message: "container not found" })).toBe(1);
  });
});

describe("refresh on a cluster", () => {
  const parent = "urn:pulumi:team::agent-sandbox::agent-sandbox:index:ClusterSandbox::main";
  const uid = "0d6c1f7e-5a1b";
  const resource = (name: string, type: string, extra: Record<string, unknown> = {}) => ({ urn: `${parent}$${type}::${name}`, type, parent, ...extra });
  const sandboxPod = resource("main", "kubernetes:core/v1:Pod", { id: `agents/${NAMES.pod}`, outputs: { metadata: { name: NAMES.pod, uid } } });
  const proxyPod = resource("main-egress", "kubernetes:core/v1:Pod", { outputs: { metadata: { name: NAMES.egressProxy, uid: "proxy" } } });
  const claim = resource("main-home", "kubernetes:core/v1:PersistentVolumeClaim", { outputs: { metadata: { name: NAMES.home } } });
  const clone = resource("main-clone", "command:local:Command", { inputs: { triggers: [uid] } });

  it("replaces the sandbox's pod and the clone that re-runs with it, never a claim or a proxy", () => {
    expect(sandboxUrns([claim, proxyPod, sandboxPod, clone], CLUSTER_POD, NAMES.pod, "main")).toEqual([sandboxPod.urn, clone.urn]);
    expect(sandboxUrns([sandboxPod], CLUSTER_POD, NAMES.pod, "main")).toEqual([sandboxPod.urn]);
    expect(() => sandboxUrns([claim], CLUSTER_POD, NAMES.pod, "main")).toThrow(`the stack's state has no pod ${NAMES.pod}: run npm run up first`);
  });

  it("reports the pods it replaced and the home claim it kept", () => {
    const report = refreshReport(
      "team",
      [{ name: "main", homeVolume: NAMES.home, before: uid, after: undefined, why: "asked for by name", kinds: [] }],
      12,
      CLUSTER_POD,
    );
    expect(report.split("\n")[0]).toBe(`replaced main: pod 0d6c1f7e-5a1 → (none) (asked for by name); home claim ${NAMES.home} kept`);
  });
});
