/**
 * The hardening baseline (baseline.ts) as a cluster's pod has it: every container of the stack's pods (the
 * sandbox and its proxies) runs as a non-root user, with no capability, no privilege gain, a read-only root
 * and the runtime's default seccomp profile, in a pod with no service account token and no Service
 * variables. The policy pack (policy/pod-inputs.ts) refuses a pod that loses any of it.
 */
import type * as k8s from "@pulumi/kubernetes";
import { durationToMilliseconds } from "../values/schema";
import type { ContainerLimits, HealthTimings } from "./baseline";
import { GVISOR_RUNTIME_CLASS, Isolation } from "./isolation";

/** What a pod's CPU request is when its limit is larger: enough to be scheduled, as Docker reserves nothing. */
const CPU_REQUEST_MILLICORES = 100;

export interface HardenedPod {
  readonly user: { readonly uid: number; readonly gid: number };
  readonly isolation: Isolation;
}

export function hardenedPodSpec(pod: HardenedPod) {
  const root = pod.user.uid === 0;
  return {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    ...(pod.isolation === Isolation.Gvisor ? { runtimeClassName: GVISOR_RUNTIME_CLASS } : {}),
    securityContext: {
      runAsNonRoot: !root,
      runAsUser: pod.user.uid,
      runAsGroup: pod.user.gid,
      // Its claims' and Secret's files are the pod user's group's.
      fsGroup: pod.user.gid,
      seccompProfile: { type: "RuntimeDefault" },
    },
  } satisfies Partial<k8s.types.input.core.v1.PodSpec>;
}

export interface HardenedPodContainer {
  /** Capabilities added back after dropping all; only an acknowledged sandbox config has any. */
  readonly capAdd?: readonly string[];
  readonly limits: Pick<ContainerLimits, "memoryMb" | "cpus">;
  /** The readiness probe's command: the image's health check, or more. */
  readonly readiness: readonly string[];
  readonly health: HealthTimings;
}

/** Probes count in whole seconds, at least one. */
const seconds = (duration: string): number => Math.max(1, Math.ceil(durationToMilliseconds(duration) / 1000));

/** The container fields of the baseline: its security context, its limits (memory reserved whole) and its health check as readiness. */
export function hardenedPodContainer(container: HardenedPodContainer) {
  const { limits, health } = container;
  const memory = `${limits.memoryMb}Mi`;
  const cpuMillis = Math.round(limits.cpus * 1000);
  return {
    securityContext: {
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: container.capAdd?.length ? { drop: ["ALL"], add: [...container.capAdd] } : { drop: ["ALL"] },
    },
    resources: {
      requests: { cpu: `${Math.min(cpuMillis, CPU_REQUEST_MILLICORES)}m`, memory },
      limits: { cpu: `${cpuMillis}m`, memory },
    },
    readinessProbe: {
      exec: { command: [...container.readiness] },
      initialDelaySeconds: 0,
      periodSeconds: seconds(health.interval),
      timeoutSeconds: seconds(health.timeout),
      failureThreshold: health.retries,
    },
  } satisfies Partial<k8s.types.input.core.v1.Container>;
}

/** A memory-backed emptyDir of this size, for /tmp on a read-only root. */
export function memoryVolume(name: string, sizeBytes: number): k8s.types.input.core.v1.Volume {
  return { name, emptyDir: { medium: "Memory", sizeLimit: `${Math.ceil(sizeBytes / (1024 * 1024))}Mi` } };
}
