/**
 * The sandboxes on a cluster (the stack's `kubernetes` section), as the ops verbs see them: every read, the
 * shell, the agent and the logs go through @kubernetes/client-node with the stack's kubeconfig and context
 * (clusterAccess), so the verbs land on the cluster the stack's resources are on.
 */
import { PassThrough } from "node:stream";
import { CoreV1Api, Exec, KubeConfig, Log, type LogOptions } from "@kubernetes/client-node";
import { type Agent, agentProfile } from "../../components/agents";
import { type ClusterAccess, kubectlCommand } from "../../components/kubernetes/kubectl";
import { SANDBOX_CONTAINER } from "../../components/kubernetes/naming";
import { type ClusterClient, clusterSandboxFacts, execInSandbox, notReadyReason, podState, readPodOrMissing } from "./cluster-facts";
import type { Verb } from "./person-commands";
import { CLUSTER_POD } from "./refresh-plan";
import type { SandboxSite } from "./sandbox-site";
import { OpsError } from "./stack-outputs";

/** How long the API server may take to answer before status calls the cluster unreachable. */
const ANSWER_TIMEOUT_MS = 5000;

/** A client of the stack's cluster and the API server's address; the kubeconfig's own errors name the file. */
export function clusterClient(cluster: ClusterAccess): { client: ClusterClient; server: string } {
  const config = new KubeConfig();
  try {
    config.loadFromFile(cluster.kubeconfig);
    if (cluster.context) config.setCurrentContext(cluster.context);
  } catch (error) {
    throw new OpsError(
      `cannot read the kubeconfig ${cluster.kubeconfig} (kubernetes.kubeconfig, else KUBECONFIG, else ~/.kube/config): ${(error as Error).message}`,
    );
  }
  const server = config.getCurrentCluster()?.server;
  if (!server)
    throw new OpsError(`the kubeconfig ${cluster.kubeconfig} names no cluster for context ${config.getCurrentContext() || "(none)"}: set kubernetes.context`);
  return { client: { core: config.makeApiClient(CoreV1Api), exec: new Exec(config), log: new Log(config) }, server };
}

const LOG_USAGE = "npm run logs -- <sandbox> [--follow] [--tail N] [--timestamps] [--previous] [--stack NAME]";

/** The `docker logs` flags a pod's log takes, as the API's options; any other flag is refused with the ones it takes. */
export function logOptions(extra: readonly string[]): LogOptions {
  const options: LogOptions = {};
  for (let at = 0; at < extra.length; at++) {
    const [flag, inline] = extra[at].split("=", 2);
    if (flag === "--follow" || flag === "-f") options.follow = true;
    else if (flag === "--timestamps" || flag === "-t") options.timestamps = true;
    else if (flag === "--previous" || flag === "-p") options.previous = true;
    else if (flag === "--tail" || flag === "-n") {
      const value = inline ?? extra[++at];
      if (!/^\d+$/.test(value ?? "")) throw new OpsError(`--tail takes a number of lines, e.g. --tail 50; usage: ${LOG_USAGE}`);
      options.tailLines = Number(value);
    } else throw new OpsError(`a pod's logs take no ${extra[at]} here; usage: ${LOG_USAGE}`);
  }
  return options;
}

/** What the shell and the agent verbs run in the sandbox container; the pod already runs as the agent user in /workspace. */
export function attachedCommand(verb: Exclude<Verb, "logs">, agent: string | undefined, extra: readonly string[]): string[] {
  if (verb === "shell") return ["bash"];
  if (!agent) throw new OpsError("the stack's outputs name no agent for this sandbox: run npm run up once, then npm run agent");
  // The agent CLI takes an initial prompt as its argument and stays interactive.
  return ["agent-exec", agentProfile(agent as Agent).executable, ...(extra.length > 0 ? [extra.join(" ")] : [])];
}

/** Streams the log of the sandbox container to stdout; resolves once the API server ends it. */
async function streamLog(client: ClusterClient, cluster: ClusterAccess, pod: string, options: LogOptions): Promise<number> {
  const through = new PassThrough();
  through.pipe(process.stdout, { end: false });
  const ended = new Promise((resolve) => through.on("end", resolve));
  await client.log.log(cluster.namespace, pod, SANDBOX_CONTAINER, through, options);
  await ended;
  return 0;
}

/**
 * A shell or the agent attached to this process: a TTY when stdin is one (raw, so keys reach the sandbox
 * as typed), else plain pipes, so a script can be piped in.
 */
async function attachInteractive(client: ClusterClient, cluster: ClusterAccess, pod: string, command: string[]): Promise<number> {
  const tty = process.stdin.isTTY === true;
  if (tty) process.stdin.setRawMode(true);
  try {
    return await execInSandbox(client, cluster, pod, command, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, tty });
  } finally {
    if (tty) process.stdin.setRawMode(false);
    process.stdin.pause();
  }
}

export function clusterSite(cluster: ClusterAccess, made: { client: ClusterClient; server: string } = clusterClient(cluster)): SandboxSite {
  const { client, server } = made;
  return {
    address: { url: server, setting: "kubernetes", namespace: cluster.namespace, check: kubectlCommand(cluster, ["get", "pods"]) },
    workload: CLUSTER_POD,
    unreachable: async () => {
      try {
        await Promise.race([
          client.core.readNamespace({ name: cluster.namespace }),
          new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS / 1000} s`)), ANSWER_TIMEOUT_MS).unref()),
        ]);
        return undefined;
      } catch (error) {
        return (error as { code?: number }).code === 404 ? `it has no namespace ${cluster.namespace}` : (error as Error).message;
      }
    },
    facts: (sandboxes) => Promise.all(Object.entries(sandboxes).map(([name, info]) => clusterSandboxFacts(client, cluster, name, info))),
    presence: async (info) => {
      const pod = await readPodOrMissing(client, cluster, info.container);
      if (!pod) return { state: "missing" };
      const state = podState(pod);
      return { state, notReady: state === "running" ? notReadyReason(pod) : undefined, id: pod.metadata?.uid };
    },
    attach: (verb, info, extra) =>
      verb === "logs"
        ? streamLog(client, cluster, info.container, logOptions(extra))
        : attachInteractive(client, cluster, info.container, attachedCommand(verb, info.agent, extra)),
  };
}
