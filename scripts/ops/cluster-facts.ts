/**
 * What the cluster says about one sandbox, read with @kubernetes/client-node: its pod's phase, Ready
 * condition, image digest, restarts and start, its workspace disk (df inside it, over the exec API) and its
 * egress proxy pod's refusals. A cluster without a metrics API gives no CPU, memory or pids use, so those
 * columns stay empty there and memory never makes a sandbox due.
 */
import { type Readable, Writable } from "node:stream";
import type { CoreV1Api, Exec, Log, V1Pod, V1Status } from "@kubernetes/client-node";
import type { SandboxInfo } from "../../components/agent-sandboxes";
import { DENIED_PROBE_URL, PROBE_DENIED_ENV } from "../../components/egress/network";
import { LABEL_PREFIX } from "../../components/engine/naming";
import { GVISOR_RUNTIME_CLASS, Isolation } from "../../components/hardening/isolation";
import type { ClusterAccess } from "../../components/kubernetes/kubectl";
import { clusterObjectNames, EGRESS_PROXY_ROLE, SANDBOX_CONTAINER } from "../../components/kubernetes/naming";
import { WORKSPACE_PATH } from "../../components/sandbox/contract";
import { countDenied, diskPercentFromDf, type SandboxFacts } from "./status-report";

/** The calls of the client library the ops scripts make: the seam the unit tests fake. */
export interface ClusterClient {
  readonly core: Pick<CoreV1Api, "readNamespace" | "readNamespacedPod" | "readNamespacedPodLog">;
  readonly exec: Pick<Exec, "exec">;
  readonly log: Pick<Log, "log">;
}

const UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** A Kubernetes quantity of bytes ("1Gi", "512M", "1073741824") as a number; undefined for another spelling. */
export function quantityBytes(quantity: string | undefined): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(quantity ?? "");
  return match ? Number(match[1]) * UNITS[match[2] ?? ""] : undefined;
}

/** The digest of a node's image reference (`registry/repo@sha256:…`), as the stack's output `imageDigest` spells it. */
export const digestOf = (imageRef: string | undefined): string | undefined => /@(sha256:[0-9a-f]+)$/.exec(imageRef ?? "")?.[1];

/** The pod's state as status shows it: its phase in lowercase, or terminating once it is being deleted. */
export const podState = (pod: V1Pod): string => (pod.metadata?.deletionTimestamp ? "terminating" : (pod.status?.phase ?? "Unknown").toLowerCase());

/** Why a running pod is not Ready (its condition's message, or its container's wait), or undefined when it is. */
export function notReadyReason(pod: V1Pod): string | undefined {
  const ready = pod.status?.conditions?.find((condition) => condition.type === "Ready");
  if (ready?.status === "True") return undefined;
  const waiting = pod.status?.containerStatuses?.find((status) => status.name === SANDBOX_CONTAINER)?.state?.waiting;
  return [ready?.message ?? "its readiness check has not passed", waiting?.reason, waiting?.message].filter(Boolean).join("; ");
}

/** What the pod itself says: state, readiness as Docker's health, kernel, start, image, restarts and memory limit. */
export function podFacts(name: string, info: SandboxInfo, pod: V1Pod | undefined): SandboxFacts {
  if (!pod) return { name, container: info.container, state: "missing" };
  const state = podState(pod);
  const sandbox = pod.status?.containerStatuses?.find((status) => status.name === SANDBOX_CONTAINER);
  const notReady = state === "running" ? notReadyReason(pod) : undefined;
  const started = pod.status?.startTime ?? pod.metadata?.creationTimestamp;
  return {
    name,
    container: info.container,
    containerId: pod.metadata?.uid,
    state,
    isolation: pod.spec?.runtimeClassName === GVISOR_RUNTIME_CLASS ? Isolation.Gvisor : Isolation.Container,
    health: state === "running" ? (notReady === undefined ? "healthy" : "unhealthy") : undefined,
    healthOutput: notReady,
    createdAt: started ? new Date(started) : undefined,
    imageId: digestOf(sandbox?.imageID),
    restarts: sandbox?.restartCount,
    memoryLimitBytes: quantityBytes(pod.spec?.containers.find((container) => container.name === SANDBOX_CONTAINER)?.resources?.limits?.memory),
  };
}

/** An exec's exit status from the API's closing status: 0 on Success, the ExitCode cause's number otherwise. */
export function exitCodeOf(status: V1Status): number {
  if (status.status === "Success") return 0;
  const code = Number(status.details?.causes?.find((cause) => cause.reason === "ExitCode")?.message);
  return Number.isInteger(code) ? code : 1;
}

export interface ExecStreams {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin: Readable | null;
  readonly tty: boolean;
}

/** Runs `command` in the sandbox container of `pod` over the exec API; resolves to its exit status. */
export async function execInSandbox(client: ClusterClient, cluster: ClusterAccess, pod: string, command: string[], io: ExecStreams): Promise<number> {
  return new Promise((resolve, reject) => {
    let exited = false;
    const onStatus = (status: V1Status) => {
      exited = true;
      resolve(exitCodeOf(status));
    };
    client.exec
      .exec(cluster.namespace, pod, SANDBOX_CONTAINER, command, io.stdout, io.stderr, io.stdin, io.tty, onStatus)
      .then((socket) =>
        socket.on("close", () => {
          if (!exited) reject(new Error(`the exec in pod ${pod} ended without an exit status (its connection closed)`));
        }),
      )
      .catch(reject);
  });
}

/** A non-interactive command's stdout and stderr together, as text. */
async function execOutput(client: ClusterClient, cluster: ClusterAccess, pod: string, command: string[]): Promise<string> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write: (chunk, _encoding, done) => {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  await execInSandbox(client, cluster, pod, command, { stdout: sink, stderr: sink, stdin: null, tty: false });
  return Buffer.concat(chunks).toString("utf8");
}

/** Whether the API said there is no such object. */
export const isNotFound = (error: unknown): boolean => (error as { code?: number }).code === 404;

/** The pod, or undefined when the namespace has no such pod. */
export async function readPodOrMissing(client: ClusterClient, cluster: ClusterAccess, name: string): Promise<V1Pod | undefined> {
  try {
    return await client.core.readNamespacedPod({ name, namespace: cluster.namespace });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The refusals in the egress proxy pod's log since the sandbox started; undefined when it has no such pod. */
async function deniedSince(client: ClusterClient, cluster: ClusterAccess, pod: V1Pod, sandbox: string, since: Date): Promise<number | undefined> {
  const labels = pod.metadata?.labels ?? {};
  const proxy = clusterObjectNames({ project: labels[`${LABEL_PREFIX}.project`], stack: labels[`${LABEL_PREFIX}.stack`] }, sandbox).egressProxy;
  const env = pod.spec?.containers.find((container) => container.name === SANDBOX_CONTAINER)?.env ?? [];
  const probeUrl = env.find((variable) => variable.name === PROBE_DENIED_ENV)?.value ?? DENIED_PROBE_URL;
  try {
    const sinceSeconds = Math.max(1, Math.ceil((Date.now() - since.getTime()) / 1000));
    const log = await client.core.readNamespacedPodLog({ name: proxy, namespace: cluster.namespace, container: EGRESS_PROXY_ROLE, sinceSeconds });
    return countDenied(log, new URL(probeUrl).host);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Everything status can know about one sandbox on the cluster. */
export async function clusterSandboxFacts(client: ClusterClient, cluster: ClusterAccess, name: string, info: SandboxInfo): Promise<SandboxFacts> {
  const pod = await readPodOrMissing(client, cluster, info.container);
  const facts = podFacts(name, info, pod);
  if (!pod || facts.state !== "running" || facts.health !== "healthy") return facts;
  const [df, denied] = await Promise.all([
    execOutput(client, cluster, info.container, ["df", "-P", WORKSPACE_PATH]),
    info.deniedEgressLog && facts.createdAt ? deniedSince(client, cluster, pod, name, facts.createdAt) : Promise.resolve(undefined),
  ]);
  return { ...facts, workspaceDiskPercent: diskPercentFromDf(df), deniedEgress: denied };
}
