/**
 * Issue #25's rows: the local cluster of scripts/setup-kubernetes.sh. `kubernetes-build` builds its
 * binaries from nothing (an empty Go build cache and binary cache; the module downloads stay, they are not
 * the build). `kubernetes` restarts the cluster from its cached binaries and times the script until the
 * node is Ready and CoreDNS answers (median of RESTARTS), then sums the resident memory of the control
 * plane's processes, and of the node's, after IDLE_SECONDS with nothing deployed. Both need root.
 * `kubernetes-deploy` is issue #26's: one sandbox stack's `pulumi up` until its pod is Ready, beside a bare
 * `kubectl apply` of the same objects.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ADMIN_KUBECONFIG, apply, KubernetesGate, kubectl } from "../../testkit/live/kubernetes";
import { pulumiAvailability, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";
import { testCa } from "../../testkit/live/test-ca";
import { formatMiB, median } from "./engine-measures";
import type { Recorder } from "./isolation";

const SCRIPT = path.resolve(__dirname, "..", "setup-kubernetes.sh");
const STATE_DIR = "/run/agent-sandbox-kubernetes";
const RESTARTS = 3;
const IDLE_SECONDS = 30;
const CONTROL_PLANE = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];
const NODE = ["containerd", "kubelet", "kube-proxy", "kube-router"];
const DEPLOY_ROUNDS = 3;
const EXPORTED_KINDS = "pod,service,networkpolicy,persistentvolumeclaim,secret";

/** Runs setup-kubernetes.sh; returns its wall time in seconds, or throws with its output. */
function setup(args: string[], env: NodeJS.ProcessEnv = {}): number {
  const started = process.hrtime.bigint();
  const result = spawnSync("bash", [SCRIPT, ...args], { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`setup-kubernetes.sh ${args.join(" ")} exited ${result.status}:\n${result.stderr.slice(-4000)}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Resident memory of a daemon setup-kubernetes.sh recorded, in MiB. */
function residentMiB(daemon: string): number {
  const pid = fs.readFileSync(path.join(STATE_DIR, `${daemon}.pid`), "utf8").trim();
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!rss) throw new Error(`no VmRSS for ${daemon} (pid ${pid})`);
  return Number(rss[1]) / 1024;
}

export function benchKubernetesBuild(record: Recorder): void {
  if (process.getuid?.() !== 0) {
    record("cluster cold build", "not measured: needs root");
    return;
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-bench-k8s-"));
  try {
    const seconds = setup(["--build-only"], { GOCACHE: path.join(scratch, "go-build"), AGENT_SANDBOX_KUBERNETES_CACHE: path.join(scratch, "cache") });
    record(`cluster cold build (${os.cpus().length} cores, empty Go build cache)`, `${(seconds / 60).toFixed(1)} min`, "cached by version key");
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

export async function benchKubernetes(record: Recorder): Promise<void> {
  if (process.getuid?.() !== 0) {
    record("cluster warm start", "not measured: needs root");
    return;
  }
  setup([]);
  const samples: number[] = [];
  for (let restart = 0; restart < RESTARTS; restart++) {
    setup(["--stop"]);
    samples.push(setup([]));
  }
  record(`cluster warm start to Ready and DNS answering (median of ${RESTARTS})`, `${median(samples).toFixed(1)} s`);
  await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
  const sum = (daemons: string[]) => daemons.reduce((total, daemon) => total + residentMiB(daemon), 0);
  record(`idle control plane memory (${CONTROL_PLANE.join(", ")}; RSS)`, formatMiB(sum(CONTROL_PLANE)));
  record(`idle node memory (${NODE.join(", ")}; RSS)`, formatMiB(sum(NODE)));
}

/**
 * `pulumi up` of one sandbox on the cluster with the real CLI, beside `kubectl apply` + `kubectl wait` of the
 * objects that up made, exported. The images are built and pushed by a first up that is not timed; each
 * timed up follows a `pulumi destroy` of the stack's cluster objects alone, so what it measures is the
 * CLI, the program's evaluation and the provider creating the objects and waiting for the pods to be
 * Ready (the sandbox pod last: it waits for its proxies). Rounds alternate the two so load weighs on both.
 */
export async function benchKubernetesDeploy(record: Recorder): Promise<void> {
  const cli = pulumiAvailability();
  if (!cli.available || !new KubernetesGate().ready()) {
    record("`pulumi up` of one sandbox on the cluster", `not measured: ${cli.available ? "no cluster answers" : cli.reason}`);
    return;
  }
  const namespace = `asb-bench-${process.pid}`;
  const stackName = `bench-k8s-${process.pid}`;
  await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
  const stack = await RealStack.create(stackName);
  try {
    stack.setConfig({
      kubernetes: { namespace, kubeconfig: ADMIN_KUBECONFIG },
      // The live suites' CA, as they build with it: the images then come from BuildKit's cache.
      image: {
        ...REGISTRY_BASE_IMAGES,
        registry: { address: "127.0.0.1:5000", repository: "agent-sandbox/bench-kubernetes" },
        push: true,
        extraCaCertsFile: testCa().bundleFile,
      },
      sandboxes: [{ name: "main", resources: { memory: "1g", cpus: 1 } }],
    });
    // A key, as a user's stack has one: the credential proxy's Secret then holds what it holds for real.
    await stack.setSecret("anthropicApiKey", `sk-ant-bench-${randomBytes(20).toString("hex")}`);
    const up = async () => {
      const started = process.hrtime.bigint();
      // RealStack keeps full stack traces for test output; a user's up runs without them.
      await stack.pulumi(["up", "--yes", "--skip-preview"], { env: { AGENT_SANDBOX_STACK_TRACES: "" } });
      return Number(process.hrtime.bigint() - started) / 1e9;
    };
    await up();
    const objects = await exportedObjects(namespace);
    const clusterObjects = await clusterObjectUrns(stack);
    const samples = { up: [] as number[], apply: [] as number[], podsReady: [] as number[] };
    for (let round = 0; round < DEPLOY_ROUNDS; round++) {
      await stack.pulumi(["destroy", "--yes", "--skip-preview", "--target-dependents", ...clusterObjects.flatMap((urn) => ["--target", urn])]);
      samples.apply.push(await applyUntilReady(namespace, objects));
      samples.up.push(await up());
      samples.podsReady.push(await firstCreatedToLastReady(namespace, "pulumi up"));
    }
    const [upSeconds, applySeconds] = [median(samples.up), median(samples.apply)];
    const kinds = [...new Set(objects.map((object) => object.kind))].join(", ");
    record(
      `\`pulumi up\` of one sandbox on the cluster until its pod is Ready, images built and pushed (median of ${DEPLOY_ROUNDS})`,
      `${upSeconds.toFixed(1)} s`,
    );
    record(
      `of which: the first object's creation to the last pod's Ready, by the objects' timestamps (median of ${DEPLOY_ROUNDS})`,
      `${median(samples.podsReady).toFixed(1)} s`,
    );
    record(
      `floor: \`kubectl apply\` of the same ${objects.length} objects (${kinds}), then \`kubectl wait\` for the pods' Ready (median of ${DEPLOY_ROUNDS})`,
      `${applySeconds.toFixed(1)} s`,
    );
    record("ratio `pulumi up` / `kubectl apply`", `${(upSeconds / applySeconds).toFixed(2)}x`);
  } finally {
    await stack.remove();
    await kubectl(["delete", "namespace", namespace, "--ignore-not-found", "--wait=false"], { allowFailure: true });
  }
}

interface ClusterObject {
  readonly kind: string;
  readonly metadata: { readonly creationTimestamp: string; readonly annotations?: Record<string, string>; readonly [field: string]: unknown };
  readonly spec?: Record<string, unknown>;
  readonly status?: {
    readonly conditions?: { readonly type: string; readonly lastTransitionTime: string }[];
    readonly containerStatuses?: { readonly state?: { readonly running?: { readonly startedAt: string } } }[];
  };
}

/**
 * The stack's objects as `kubectl get -o json` shows them, without what the cluster filled in. The
 * Services keep their cluster IPs: the sandbox pod reaches its proxies by them (its hostAliases), which
 * `pulumi up` learns from the Services it created first; a single `kubectl apply` can only fix them ahead.
 * The claims lose their bound volume, which their deletion releases.
 */
async function exportedObjects(namespace: string): Promise<ClusterObject[]> {
  const listed = JSON.parse((await kubectl(["-n", namespace, "get", EXPORTED_KINDS, "-o", "json"])).stdout) as { items: ClusterObject[] };
  const order = ["NetworkPolicy", "Secret", "PersistentVolumeClaim", "Service", "Pod"];
  return listed.items
    .map(({ status, metadata, spec, ...object }) => {
      const { uid, resourceVersion, managedFields, creationTimestamp, generation, annotations = {}, ...kept } = metadata;
      const unbound = Object.entries(annotations).filter(([key]) => !/^(pv|volume)\.(beta\.)?kubernetes\.io\//.test(key));
      const { volumeName, nodeName, ...specKept } = spec ?? {};
      return { ...object, metadata: { ...kept, annotations: Object.fromEntries(unbound) }, ...(spec ? { spec: specKept } : {}) } as ClusterObject;
    })
    .sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
}

/** The URNs of the stack's objects on the cluster (the provider and the component stay). */
async function clusterObjectUrns(stack: RealStack): Promise<string[]> {
  const state = JSON.parse((await stack.pulumi(["stack", "export"])).stdout) as { deployment: { resources: { urn: string; type: string }[] } };
  return state.deployment.resources.filter((resource) => resource.type.startsWith("kubernetes:")).map((resource) => resource.urn);
}

/** `kubectl apply` of the objects and `kubectl wait` until every pod is Ready, timed; then deletes them again. */
async function applyUntilReady(namespace: string, objects: ClusterObject[]): Promise<number> {
  const started = process.hrtime.bigint();
  await kubectl(["-n", namespace, "apply", "--server-side", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }) });
  await kubectl(["-n", namespace, "wait", "--for=condition=Ready", "pod", "--all", "--timeout=300s"]);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await firstCreatedToLastReady(namespace, "kubectl apply");
  await kubectl(["-n", namespace, "delete", "-f", "-", "--grace-period=1", "--wait"], {
    input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }),
  });
  return seconds;
}

/**
 * From the earliest creationTimestamp of the namespace's objects to the latest Ready of its pods, in
 * (whole) seconds; each pod's own milestones from that start go to stderr, to show where the time goes.
 */
async function firstCreatedToLastReady(namespace: string, label: string): Promise<number> {
  const listed = JSON.parse((await kubectl(["-n", namespace, "get", EXPORTED_KINDS, "-o", "json"])).stdout) as { items: ClusterObject[] };
  const start = Math.min(...listed.items.map((item) => Date.parse(item.metadata.creationTimestamp)));
  const since = (time: string | undefined) => (time ? (Date.parse(time) - start) / 1000 : Number.NaN);
  const pods = listed.items.filter((item) => item.kind === "Pod");
  const readyOf = (pod: ClusterObject) => since(pod.status?.conditions?.find((condition) => condition.type === "Ready")?.lastTransitionTime);
  for (const pod of pods) {
    const started = pod.status?.containerStatuses?.map((container) => since(container.state?.running?.startedAt)).join("/");
    console.error(`bench: ${label}: ${pod.metadata.name}: created ${since(pod.metadata.creationTimestamp)} s, started ${started} s, Ready ${readyOf(pod)} s`);
  }
  return Math.max(...pods.map(readyOf));
}
