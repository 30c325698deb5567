/**
 * A sandbox's two proxies as a cluster's pods, each behind a Service of its own name: the Squid egress
 * proxy with the sandbox's allowlist, and the nginx credential proxy, the one pod of the sandbox that mounts
 * the stack's Secret. Same image, user, limits and checks as on Docker (egress-proxy.ts, credential-proxy.ts).
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { CREDENTIAL_PROXY_ENTRYPOINT, CREDENTIAL_PROXY_HEALTHCHECK_COMMAND, CREDENTIAL_PROXY_MEMORY_MB } from "../credentials/credential-proxy";
import { type CredentialProxyPlan, credentialProxyConfig, ON_CLUSTER } from "../credentials/nginx-conf";
import { API_PORT, GIT_PORT, PROXY_SECRETS_PATH } from "../credentials/proxy-contract";
import type { EgressPolicy } from "../egress/allowlist";
import { EGRESS_PROXY_HEALTHCHECK_COMMAND, PROXY_MEMORY_MB } from "../egress/egress-proxy";
import { PROXY_PORT } from "../egress/network";
import { squidConfigFor } from "../egress/squid";
import type { StackIdentity } from "../engine/naming";
import { CREDENTIAL_PROXY_ROLE } from "../guardrails/credentials";
import { Isolation } from "../hardening/isolation";
import { hardenedPodContainer, hardenedPodSpec, memoryVolume } from "../hardening/pod-baseline";
import { PROXY_HEALTHCHECK, PROXY_UID } from "../image/proxy-image";
import { clusterLabels, clusterObjectNames, EGRESS_PROXY_ROLE } from "./naming";

export interface ProxyPodRefs {
  readonly namespace: string;
  /** The proxy image, `registry/repository:tag@sha256:…`. */
  readonly image: pulumi.Input<string>;
}

/** The ports a proxy answers the sandbox on. */
export const EGRESS_PROXY_PORTS = [PROXY_PORT];
export const CREDENTIAL_PROXY_PORTS = [API_PORT, GIT_PORT];

interface ProxyPod {
  readonly name: string;
  readonly role: string;
  readonly memoryMb: number;
  readonly healthcheckCommand: string;
  readonly ports: readonly number[];
  readonly tmpBytes: number;
  readonly container: Partial<k8s.types.input.core.v1.Container>;
  readonly volumes?: k8s.types.input.core.v1.Volume[];
}

function proxyPodArgs(identity: StackIdentity, sandboxName: string, refs: ProxyPodRefs, proxy: ProxyPod): k8s.core.v1.PodArgs {
  const { volumeMounts = [], ...container } = proxy.container as { volumeMounts?: k8s.types.input.core.v1.VolumeMount[] };
  return {
    metadata: { name: proxy.name, namespace: refs.namespace, labels: clusterLabels(identity, sandboxName, proxy.role) },
    spec: {
      // Never gVisor, whatever its sandbox runs under, as on Docker: the proxies hold no agent code.
      ...hardenedPodSpec({ user: { uid: PROXY_UID, gid: PROXY_UID }, isolation: Isolation.Container }),
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: proxy.role,
          image: refs.image,
          ports: proxy.ports.map((port) => ({ containerPort: port, protocol: "TCP" })),
          ...container,
          ...hardenedPodContainer({ limits: { memoryMb: proxy.memoryMb, cpus: 1 }, readiness: [proxy.healthcheckCommand], health: PROXY_HEALTHCHECK }),
          volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, ...volumeMounts],
        },
      ],
      volumes: [memoryVolume("tmp", proxy.tmpBytes), ...(proxy.volumes ?? [])],
    },
  };
}

export function egressProxyPodArgs(identity: StackIdentity, sandboxName: string, policy: EgressPolicy, refs: ProxyPodRefs): k8s.core.v1.PodArgs {
  const squidConf = squidConfigFor(policy, { sandboxName });
  return proxyPodArgs(identity, sandboxName, refs, {
    name: clusterObjectNames(identity, sandboxName).egressProxy,
    role: EGRESS_PROXY_ROLE,
    memoryMb: PROXY_MEMORY_MB,
    healthcheckCommand: EGRESS_PROXY_HEALTHCHECK_COMMAND,
    ports: EGRESS_PROXY_PORTS,
    tmpBytes: 64 * 1024 * 1024,
    // The policy travels in the pod's spec, as in the container's config on Docker: it holds no secret.
    container: { env: [{ name: "SQUID_CONF_B64", value: Buffer.from(squidConf).toString("base64") }] },
  });
}

/** The credential proxy's pod: the stack's Secret (proxySecretName) read-only at the path its configuration includes, readable by its group alone. */
export function credentialProxyPodArgs(
  identity: StackIdentity,
  plan: CredentialProxyPlan,
  secretName: pulumi.Input<string>,
  refs: ProxyPodRefs,
): k8s.core.v1.PodArgs {
  return proxyPodArgs(identity, plan.sandboxName, refs, {
    name: clusterObjectNames(identity, plan.sandboxName).credentialProxy,
    role: CREDENTIAL_PROXY_ROLE,
    memoryMb: CREDENTIAL_PROXY_MEMORY_MB,
    healthcheckCommand: CREDENTIAL_PROXY_HEALTHCHECK_COMMAND,
    ports: CREDENTIAL_PROXY_PORTS,
    tmpBytes: 16 * 1024 * 1024,
    container: {
      command: [CREDENTIAL_PROXY_ENTRYPOINT],
      env: [{ name: "NGINX_CONF_B64", value: Buffer.from(credentialProxyConfig(plan, ON_CLUSTER)).toString("base64") }],
      volumeMounts: [{ name: "proxy-secrets", mountPath: PROXY_SECRETS_PATH, readOnly: true }],
    },
    volumes: [{ name: "proxy-secrets", secret: { secretName, defaultMode: 0o440 } }],
  });
}

/** The Service a sandbox reaches a proxy by (its address is in the sandbox's /etc/hosts). */
export function proxyServiceArgs(
  identity: StackIdentity,
  sandboxName: string,
  role: string,
  name: string,
  ports: readonly number[],
  namespace: string,
): k8s.core.v1.ServiceArgs {
  const labels = clusterLabels(identity, sandboxName, role);
  return {
    // The sandbox pod needs only the address, there at creation, and waits for the proxy pods' Ready itself. The
    // provider's await would add 10 s after the endpoints' last change to let them settle, before the pod starts.
    metadata: { name, namespace, labels, annotations: { "pulumi.com/skipAwait": "true" } },
    spec: { type: "ClusterIP", selector: labels, ports: ports.map((port) => ({ name: `tcp-${port}`, port, targetPort: port, protocol: "TCP" })) },
  };
}
