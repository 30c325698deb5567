/**
 * The local cluster scripts/setup-kubernetes.sh starts (docs/kubernetes-cluster.md), as the Kubernetes
 * suites reach it: its admin kubeconfig and the kubectl it built. Like the engine gate: without a cluster
 * the suites skip with the reason, except under REQUIRE_KUBERNETES=1 (set by .ci/run once that setup
 * succeeded), where its absence fails.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import type { TestContext } from "vitest";
import { type CliResult, type RunOptions, runCli } from "./cli-project";
import { CLUSTER_UPSTREAM_DOMAIN } from "./test-ca";

/** The admin kubeconfig: AGENT_SANDBOX_KUBECONFIG, else where setup-kubernetes.sh writes it. */
export const ADMIN_KUBECONFIG = process.env.AGENT_SANDBOX_KUBECONFIG ?? "/var/lib/agent-sandbox-kubernetes/admin.kubeconfig";
/** The folder of the cluster's binaries, recorded by setup-kubernetes.sh while the cluster runs. */
const BIN_RECORD = "/run/agent-sandbox-kubernetes/bin";

/** kubectl: the one the cluster was built with, else whichever is on PATH. */
function kubectlBinary(): string {
  const bin = fs.existsSync(BIN_RECORD) ? fs.readFileSync(BIN_RECORD, "utf8").trim() : "";
  return bin && fs.existsSync(`${bin}/kubectl`) ? `${bin}/kubectl` : "kubectl";
}

/** kubectl as the cluster's admin (runCli: a non-zero exit throws with its output unless allowed). */
export function kubectl(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return runCli(kubectlBinary(), ["--kubeconfig", ADMIN_KUBECONFIG, ...args], { cwd: process.cwd(), env: process.env }, options);
}

/** Applies manifests given as objects (JSON is YAML). */
export async function apply(...objects: object[]): Promise<void> {
  await kubectl(["apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }) });
}

/** The node's InternalIP: the address pods reach the node on. */
export async function nodeAddress(): Promise<string> {
  return (await kubectl(["get", "nodes", "-o", `jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}`])).stdout.trim();
}

/** Whether the cluster answers: the API server is ready and the node Ready. */
function clusterProblem(): string | undefined {
  if (!fs.existsSync(ADMIN_KUBECONFIG)) return `no admin kubeconfig at ${ADMIN_KUBECONFIG}; run scripts/setup-kubernetes.sh as root`;
  const ready = spawnSync(kubectlBinary(), ["--kubeconfig", ADMIN_KUBECONFIG, "get", "--raw", "/readyz"], { encoding: "utf8", timeout: 15_000 });
  if (ready.status !== 0)
    return `the cluster of ${ADMIN_KUBECONFIG} does not answer (${(ready.stderr || ready.error?.message || "").trim()}); run scripts/setup-kubernetes.sh as root`;
  return undefined;
}

export class KubernetesGate {
  private reason: string | undefined = "not checked yet";

  /** False when no cluster answers (the tests then skip); REQUIRE_KUBERNETES=1 throws instead. */
  ready(): boolean {
    this.reason = clusterProblem();
    if (this.reason === undefined) return true;
    if (process.env.REQUIRE_KUBERNETES === "1") throw new Error(`REQUIRE_KUBERNETES=1 but ${this.reason}`);
    console.warn(`[live] skipped: ${this.reason}`);
    return false;
  }

  /** In a test: skips without a cluster. */
  requireCluster(context: TestContext): void {
    if (this.reason !== undefined) context.skip(this.reason);
  }
}

/**
 * An address outside every range the egress proxy refuses (198.18.0.0/15, see REFUSED_DESTINATIONS), put on
 * the node's loopback for the Kubernetes suites' stand-ins: the pods reach it through the node, as they would
 * reach a host on the internet, and nothing else does.
 */
export const OUTSIDE_ADDRESS = "198.18.210.1";

/** Adds OUTSIDE_ADDRESS to lo (kept if there); the returned function removes it. */
export async function addOutsideAddress(): Promise<() => Promise<void>> {
  const ip = (args: string[]) => runCli("ip", args, { cwd: process.cwd(), env: process.env }, { allowFailure: true });
  await ip(["addr", "add", `${OUTSIDE_ADDRESS}/32`, "dev", "lo"]);
  return async () => {
    await ip(["addr", "del", `${OUTSIDE_ADDRESS}/32`, "dev", "lo"]);
  };
}

/**
 * Names the stand-ins listening on OUTSIDE_ADDRESS in the cluster's DNS, as `<name>.<CLUSTER_UPSTREAM_DOMAIN>`
 * (the test CA's server certificate covers them): a headless Service each, with an EndpointSlice of that
 * address, so a name resolves to it and nothing is proxied. The returned function removes them.
 */
export async function publishUpstreams(ports: Record<string, number>): Promise<() => Promise<void>> {
  const namespace = CLUSTER_UPSTREAM_DOMAIN.split(".")[0];
  await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
  for (const [name, port] of Object.entries(ports)) {
    await apply(
      { apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec: { clusterIP: "None", ports: [{ name: "tcp", port, protocol: "TCP" }] } },
      {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name, namespace, labels: { "kubernetes.io/service-name": name } },
        addressType: "IPv4",
        ports: [{ name: "tcp", port, protocol: "TCP" }],
        endpoints: [{ addresses: [OUTSIDE_ADDRESS] }],
      },
    );
  }
  return async () => {
    await kubectl(["delete", "namespace", namespace, "--ignore-not-found", "--wait=false"], { allowFailure: true });
  };
}

/** `<name>.<CLUSTER_UPSTREAM_DOMAIN>`: a stand-in as the cluster names it. */
export const upstreamName = (name: string): string => `${name}.${CLUSTER_UPSTREAM_DOMAIN}`;

/** kubectl's own words for running a command in a pod's container, stdin attached. */
export const kubectlExecWords = (namespace: string, pod: string, container: string): string[] => [
  kubectlBinary(),
  "--kubeconfig",
  ADMIN_KUBECONFIG,
  "-n",
  namespace,
  "exec",
  "-i",
  pod,
  "-c",
  container,
  "--",
];

/** Runs a shell line in a pod's container; the exit status and output come back, not thrown. */
export async function execInPod(namespace: string, pod: string, container: string, script: string): Promise<{ code: number; output: string }> {
  const [binary, ...args] = kubectlExecWords(namespace, pod, container);
  const result = await runCli(binary, [...args, "bash", "-c", script], { cwd: process.cwd(), env: process.env }, { allowFailure: true });
  return { code: result.code, output: `${result.stdout}${result.stderr}` };
}
