/**
 * The sandbox as a cluster's pod: the engine-neutral description (sandbox/description.ts) on the pod
 * baseline (hardening/pod-baseline.ts), its workspace and home on claims that outlive the pod, /tmp in
 * memory, and its two proxies named in /etc/hosts, so it needs no DNS at all.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { withGitConfigEntry } from "../credentials/git-rewrite";
import { CREDENTIAL_PROXY_HOSTNAME } from "../credentials/proxy-contract";
import { PROXY_HOSTNAME } from "../egress/network";
import type { StackIdentity } from "../engine/naming";
import { hardenedPodContainer, hardenedPodSpec, memoryVolume } from "../hardening/pod-baseline";
import type { RestartPolicy, SandboxConfig } from "../sandbox/config";
import { acknowledgementLabel } from "../sandbox/container";
import { AGENT_HOME, TMP_PATH, WORKSPACE_PATH } from "../sandbox/contract";
import { describeSandbox, IDLE_COMMAND, TMP_SIZE_BYTES } from "../sandbox/description";
import { clusterLabels, clusterObjectNames, SANDBOX_CONTAINER } from "./naming";

/** Docker's restart policies as a pod's: a pod has no "unless stopped", deleting it is the stop. */
const POD_RESTART: Record<RestartPolicy, string> = { no: "Never", "on-failure": "OnFailure", "unless-stopped": "Always", always: "Always" };

/**
 * A new pod's NetworkPolicy takes effect a moment after its container starts (kube-router: about 1.7 s), so
 * the pod is Ready, and takes runs, only once the API server it must not reach refuses it. The cluster
 * always gives a pod the API server's address (KUBERNETES_SERVICE_HOST); without one the pod stays unready.
 */
const POLICY_ENFORCED = `[ -n "\${KUBERNETES_SERVICE_HOST:-}" ] && ! timeout 2 bash -c 'exec 3<>"/dev/tcp/$KUBERNETES_SERVICE_HOST/$KUBERNETES_SERVICE_PORT"' 2>/dev/null`;

export interface SandboxPodRefs {
  readonly namespace: string;
  /** `registry/repository:tag@sha256:…`: the cluster pulls it by digest. */
  readonly image: pulumi.Input<string>;
  /** The proxies' Service addresses, written into the pod's /etc/hosts under the names its environment uses. */
  readonly egressProxyAddress?: pulumi.Input<string>;
  readonly credentialProxyAddress?: pulumi.Input<string>;
}

export function sandboxPodArgs(
  identity: StackIdentity,
  sandbox: SandboxConfig,
  agent: { uid: number; gid: number },
  refs: SandboxPodRefs,
): k8s.core.v1.PodArgs {
  const description = describeSandbox(sandbox, agent);
  const names = clusterObjectNames(identity, sandbox.name);
  const hostAliases = [
    ...(refs.egressProxyAddress ? [{ ip: refs.egressProxyAddress, hostnames: [PROXY_HOSTNAME] }] : []),
    ...(refs.credentialProxyAddress ? [{ ip: refs.credentialProxyAddress, hostnames: [CREDENTIAL_PROXY_HOSTNAME] }] : []),
  ];
  return {
    metadata: {
      name: names.pod,
      namespace: refs.namespace,
      labels: clusterLabels(identity, sandbox.name),
      // The policy pack reads the acknowledged items from this annotation, as from a container's label.
      annotations: acknowledgementLabel(sandbox),
    },
    spec: {
      ...hardenedPodSpec({ user: description.user, isolation: sandbox.isolation }),
      hostname: sandbox.name,
      restartPolicy: POD_RESTART[sandbox.restart],
      hostAliases,
      // No DNS at all: the proxies are in /etc/hosts, and a lookup fails at once instead of timing out on a refused server.
      dnsPolicy: "None",
      dnsConfig: { nameservers: ["127.0.0.1"] },
      terminationGracePeriodSeconds: 10,
      containers: [
        {
          name: SANDBOX_CONTAINER,
          image: refs.image,
          command: [...IDLE_COMMAND],
          workingDir: WORKSPACE_PATH,
          env: Object.entries(
            // A claim's root belongs to root, whoever the pod runs as: git would call the clone's owner dubious.
            withGitConfigEntry(Object.fromEntries(description.env), "safe.directory", WORKSPACE_PATH),
          )
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([name, value]) => ({ name, value })),
          ...hardenedPodContainer({
            capAdd: sandbox.capAdd,
            limits: description.limits,
            readiness: ["sh", "-c", `${description.health.command} && ${POLICY_ENFORCED}`],
            health: description.health.timings,
          }),
          volumeMounts: [
            { name: "workspace", mountPath: WORKSPACE_PATH },
            { name: "home", mountPath: AGENT_HOME },
            { name: "tmp", mountPath: TMP_PATH },
          ],
        },
      ],
      volumes: [
        { name: "workspace", persistentVolumeClaim: { claimName: names.workspace } },
        { name: "home", persistentVolumeClaim: { claimName: names.home } },
        memoryVolume("tmp", TMP_SIZE_BYTES),
      ],
    },
  };
}
