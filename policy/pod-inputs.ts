/**
 * A Kubernetes workload's containers read as the container inputs the rules judge (the @pulumi/docker
 * ContainerArgs shape, container-inputs.ts), one view per container, so that the same rules judge a sandbox
 * rendered for Docker and for a cluster. What a pod spells its own way is translated here, once:
 *
 *   securityContext.privileged                       → privileged
 *   securityContext.capabilities.drop / add          → capabilities.drops / adds
 *   securityContext.allowPrivilegeEscalation: false  → securityOpts ["no-new-privileges:true"]
 *   runAsUser / runAsGroup (container, else pod)     → user "uid:gid"
 *   securityContext.readOnlyRootFilesystem           → readOnly
 *   resources.limits.memory                          → memory (MB)
 *   hostNetwork / hostPID / hostIPC                  → networkMode / pidMode / ipcMode "host"
 *   a hostPath volume it mounts                      → a bind mount; other volumes → volume mounts
 *   env values                                       → envs; Secrets it reads (volumes, env) → kubernetesSecrets
 *   metadata labels and annotations                  → labels (the acknowledgement list is an annotation:
 *                                                       label values cannot hold commas)
 *   runtimeClassName gvisor                          → runtime runsc
 *
 * A Pod is judged as itself; Deployments, StatefulSets, DaemonSets, ReplicaSets and Jobs by their pod
 * template, CronJobs by their job's. Defensive like container-inputs.ts: what is absent or unknown during
 * preview reads as absent.
 */
import { GVISOR_RUNTIME, GVISOR_RUNTIME_CLASS } from "../components/hardening/isolation";

export { GVISOR_RUNTIME_CLASS };

import { asArray, asRecord, asString } from "./container-inputs";

/** The RuntimeClass a pod names to run on gVisor (scripts/kubernetes/manifests/runtime-class.yaml). */

/** The Pulumi type tokens of the workloads judged, and where each keeps its pod. */
const POD_PATHS: Record<string, readonly string[]> = {
  "kubernetes:core/v1:Pod": [],
  "kubernetes:apps/v1:Deployment": ["spec", "template"],
  "kubernetes:apps/v1:StatefulSet": ["spec", "template"],
  "kubernetes:apps/v1:DaemonSet": ["spec", "template"],
  "kubernetes:apps/v1:ReplicaSet": ["spec", "template"],
  "kubernetes:batch/v1:Job": ["spec", "template"],
  "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template"],
};

export const WORKLOAD_TYPES: readonly string[] = Object.keys(POD_PATHS);

/** One container of a workload as the rules read it; `at` names it in messages. */
export interface PodContainerView {
  readonly at: string;
  readonly inputs: Record<string, unknown>;
}

/** The pod of a workload (`metadata` and `spec`), or undefined for another type. */
export function podOf(type: string, props: Record<string, unknown>): Record<string, unknown> | undefined {
  const steps = POD_PATHS[type];
  return steps === undefined ? undefined : steps.reduce((value, step) => asRecord(value[step]), props);
}

const QUANTITY = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
const QUANTITY_FACTORS: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** A memory quantity ("8Gi", "512Mi", 1073741824) in MB as Docker's `memory` counts them (MiB); undefined when unreadable. */
export function quantityMegabytes(value: unknown): number | undefined {
  if (typeof value === "number") return value / 2 ** 20;
  const match = QUANTITY.exec(asString(value) ?? "");
  if (!match) return undefined;
  return (Number(match[1]) * (match[2] ? QUANTITY_FACTORS[match[2]] : 1)) / 2 ** 20;
}

function hostMode(flag: unknown): string | undefined {
  return flag === true ? "host" : undefined;
}

function userOf(container: Record<string, unknown>, pod: Record<string, unknown>): string | undefined {
  const uid = container.runAsUser ?? pod.runAsUser;
  const gid = container.runAsGroup ?? pod.runAsGroup;
  if (typeof uid !== "number") return undefined;
  return typeof gid === "number" ? `${uid}:${gid}` : String(uid);
}

/** The container's mounts in Docker's `mounts` shape, and the Secrets among its volumes. */
function mountsOf(container: Record<string, unknown>, volumes: Record<string, unknown>[]) {
  const mounts: Record<string, unknown>[] = [];
  const secrets: string[] = [];
  for (const entry of asArray(container.volumeMounts)) {
    const mount = asRecord(entry);
    const volume = volumes.find((candidate) => candidate.name === mount.name) ?? {};
    const readOnly = mount.readOnly === true;
    const target = asString(mount.mountPath) ?? "";
    const hostPath = asString(asRecord(volume.hostPath).path);
    const secret = asString(asRecord(volume.secret).secretName);
    if (hostPath !== undefined) mounts.push({ type: "bind", source: hostPath, target, readOnly });
    else mounts.push({ type: "volume", source: asString(volume.name), target, readOnly });
    if (secret !== undefined) secrets.push(`the Secret ${secret} at ${target}`);
  }
  return { mounts, secrets };
}

/** The container's plain environment as `NAME=value`, and the Secrets it reads into variables. */
function envOf(container: Record<string, unknown>) {
  const envs: string[] = [];
  const secrets: string[] = [];
  for (const entry of asArray(container.env)) {
    const variable = asRecord(entry);
    const name = asString(variable.name) ?? "";
    const secret = asRecord(asRecord(variable.valueFrom).secretKeyRef);
    if (asString(secret.name) !== undefined) secrets.push(`the Secret ${secret.name} in ${name}`);
    else if (asString(variable.value) !== undefined) envs.push(`${name}=${variable.value}`);
  }
  for (const entry of asArray(container.envFrom)) {
    const secret = asString(asRecord(asRecord(entry).secretRef).name);
    if (secret !== undefined) secrets.push(`the Secret ${secret} in its environment`);
  }
  return { envs, secrets };
}

/** Every container of the workload's pod (init and ephemeral ones too), as the rules read them. */
export function podContainerViews(type: string, props: Record<string, unknown>): PodContainerView[] {
  const pod = podOf(type, props);
  if (pod === undefined) return [];
  const metadata = asRecord(pod.metadata);
  const spec = asRecord(pod.spec);
  const podSecurity = asRecord(spec.securityContext);
  const volumes = asArray(spec.volumes).map(asRecord);
  const labels = [...Object.entries(asRecord(metadata.labels)), ...Object.entries(asRecord(metadata.annotations))].map(([label, value]) => ({
    label,
    value,
  }));
  const runtime = spec.runtimeClassName === GVISOR_RUNTIME_CLASS ? GVISOR_RUNTIME : asString(spec.runtimeClassName);
  return (["initContainers", "containers", "ephemeralContainers"] as const).flatMap((list) =>
    asArray(spec[list]).map((entry, index) => {
      const container = asRecord(entry);
      const security = asRecord(container.securityContext);
      const capabilities = asRecord(security.capabilities);
      const { mounts, secrets: mountedSecrets } = mountsOf(container, volumes);
      const { envs, secrets: envSecrets } = envOf(container);
      const inputs: Record<string, unknown> = {
        privileged: security.privileged === true,
        capabilities: { drops: asArray(capabilities.drop), adds: asArray(capabilities.add) },
        securityOpts: security.allowPrivilegeEscalation === false ? ["no-new-privileges:true"] : [],
        user: userOf(security, podSecurity),
        readOnly: security.readOnlyRootFilesystem === true,
        memory: quantityMegabytes(asRecord(asRecord(container.resources).limits).memory),
        networkMode: hostMode(spec.hostNetwork),
        pidMode: hostMode(spec.hostPID),
        ipcMode: hostMode(spec.hostIPC),
        mounts,
        envs,
        kubernetesSecrets: [...mountedSecrets, ...envSecrets],
        labels,
        runtime,
      };
      return { at: `${list}[${index}] (${asString(container.name) ?? "unnamed"})`, inputs };
    }),
  );
}

/** What only a pod can get wrong: a service account token the agent could use against the API server. */
export function podViolations(type: string, props: Record<string, unknown>): string[] {
  const pod = podOf(type, props);
  if (pod === undefined) return [];
  const spec = asRecord(pod.spec);
  return spec.automountServiceAccountToken === false
    ? []
    : [
        `automountServiceAccountToken is ${JSON.stringify(spec.automountServiceAccountToken ?? null)}, so every container gets a token for the API server; set automountServiceAccountToken: false`,
      ];
}
