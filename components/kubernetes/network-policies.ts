/**
 * Where a sandbox's pods may connect on a cluster, the counterpart of its Docker networks: the sandbox
 * pod reaches its own two proxies and nothing else (no DNS, no API server, no node, no other sandbox, no
 * metadata address) and nothing reaches it; each proxy is reached by its own sandbox alone and goes out
 * only to what the allowlist and the upstreams need: the cluster's DNS, and addresses outside the private
 * and reserved ranges Squid refuses too (REFUSED_DESTINATIONS), on the ports they use.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { CredentialProxyPlan } from "../credentials/nginx-conf";
import type { EgressPolicy } from "../egress/allowlist";
import { DEFAULT_PORTS } from "../egress/allowlist";
import { REFUSED_DESTINATIONS } from "../egress/squid";
import type { StackIdentity } from "../engine/naming";
import { CREDENTIAL_PROXY_ROLE } from "../guardrails/credentials";
import type { SandboxTopology } from "../sandbox/topology";
import { clusterLabels, clusterObjectNames, EGRESS_PROXY_ROLE, podSelector } from "./naming";
import { CREDENTIAL_PROXY_PORTS, EGRESS_PROXY_PORTS } from "./proxy-pods";

type Rule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/** The cluster's DNS: CoreDNS or kube-dns pods in kube-system, by the label both carry. */
const CLUSTER_DNS: Rule = {
  to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
  ports: [
    { protocol: "UDP", port: 53 },
    { protocol: "TCP", port: 53 },
  ],
};

/** Every IPv4 address but the ranges no upstream may be in (the pods, Services and node of a cluster are among them). */
const OUTSIDE = [{ ipBlock: { cidr: "0.0.0.0/0", except: REFUSED_DESTINATIONS.filter((range) => !range.includes(":") && !range.startsWith("0.0.0.0")) } }];

const tcpPorts = (ports: readonly number[]) => [...new Set(ports)].sort((a, b) => a - b).map((port) => ({ protocol: "TCP", port }));

export interface ClusterPolicyInputs {
  readonly namespace: string;
  readonly topology: SandboxTopology;
  /** The egress proxy's policy (allowlist mode). */
  readonly egressPolicy?: EgressPolicy;
  /** The credential proxy's plan, when the sandbox has one. */
  readonly credentialProxy?: CredentialProxyPlan;
}

export function sandboxNetworkPolicies(
  identity: StackIdentity,
  sandboxName: string,
  inputs: ClusterPolicyInputs,
): Record<string, k8s.networking.v1.NetworkPolicyArgs> {
  const names = clusterObjectNames(identity, sandboxName);
  const selector = (role?: string) => podSelector(identity, sandboxName, role);
  const policy = (
    name: string,
    role: string | undefined,
    ingress: k8s.types.input.networking.v1.NetworkPolicyIngressRule[],
    egress: Rule[],
  ): k8s.networking.v1.NetworkPolicyArgs => ({
    metadata: { name, namespace: inputs.namespace, labels: clusterLabels(identity, sandboxName, role) },
    spec: { podSelector: selector(role), policyTypes: ["Ingress", "Egress"], ingress, egress },
  });
  const fromSandbox = (ports: readonly number[]) => [{ from: [{ podSelector: selector() }], ports: tcpPorts(ports) }];
  const { topology } = inputs;

  const sandboxEgress: Rule[] =
    topology.network === "open"
      ? [CLUSTER_DNS, { to: OUTSIDE }]
      : [
          ...(topology.egressProxy ? [{ to: [{ podSelector: selector(EGRESS_PROXY_ROLE) }], ports: tcpPorts(EGRESS_PROXY_PORTS) }] : []),
          ...(topology.credentialProxy ? [{ to: [{ podSelector: selector(CREDENTIAL_PROXY_ROLE) }], ports: tcpPorts(CREDENTIAL_PROXY_PORTS) }] : []),
        ];
  const policies: Record<string, k8s.networking.v1.NetworkPolicyArgs> = { sandbox: policy(names.pod, undefined, [], sandboxEgress) };
  if (topology.egressProxy && inputs.egressPolicy) {
    const ports = inputs.egressPolicy.allow.flatMap((entry) => (entry.port === undefined ? [...DEFAULT_PORTS] : [entry.port]));
    policies.egressProxy = policy(names.egressProxy, EGRESS_PROXY_ROLE, fromSandbox(EGRESS_PROXY_PORTS), [
      CLUSTER_DNS,
      { to: OUTSIDE, ports: tcpPorts(ports) },
    ]);
  }
  if (topology.credentialProxy && inputs.credentialProxy) {
    const plan = inputs.credentialProxy;
    const ports = [...(plan.api ? [plan.api.upstream.port] : []), ...plan.gitRepos.map((repo) => repo.port)];
    policies.credentialProxy = policy(names.credentialProxy, CREDENTIAL_PROXY_ROLE, fromSandbox(CREDENTIAL_PROXY_PORTS), [
      CLUSTER_DNS,
      { to: OUTSIDE, ports: tcpPorts(ports) },
    ]);
  }
  return policies;
}
