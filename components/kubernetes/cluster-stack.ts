/**
 * The part of a stack that lives on its cluster: the provider for it, the one Secret holding the stack's
 * keys and token as the credential proxies' files (mounted by them alone), and one ClusterSandbox per sandbox.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ApiProvider } from "../agents";
import type { CredentialProxyPlan } from "../credentials/nginx-conf";
import { proxySecretFiles } from "../credentials/secret-files";
import { labelsFor, ROLE_LABEL, type StackIdentity } from "../engine/naming";
import { CREDENTIAL_PROXY_ROLE } from "../guardrails/credentials";
import type { SandboxConfig } from "../sandbox/config";
import { ClusterSandbox } from "./cluster-sandbox";
import type { KubernetesConfig } from "./config";
import { clusterAccess } from "./kubectl";
import { proxySecretName } from "./naming";

export interface ClusterStackArgs {
  readonly identity: StackIdentity;
  readonly kubernetes: KubernetesConfig;
  readonly sandboxes: readonly SandboxConfig[];
  /** Each agent's image ref (`registry/repository:tag@sha256:…`) by the sandbox's agent. */
  readonly imageFor: (sandbox: SandboxConfig) => pulumi.Input<string>;
  readonly proxyImage?: pulumi.Input<string>;
  readonly agentUid: number;
  readonly agentGid: number;
  /** The credential proxy plans by sandbox name. */
  readonly plans: ReadonlyMap<string, CredentialProxyPlan>;
  /** The API providers in the order of `apiKeys`. */
  readonly providers: readonly ApiProvider[];
  readonly apiKeys: readonly (pulumi.Output<string> | undefined)[];
  readonly gitToken?: pulumi.Output<string>;
  readonly extraCaCerts?: pulumi.Output<string>;
}

export function declareClusterSandboxes(args: ClusterStackArgs, opts: pulumi.ComponentResourceOptions): Map<string, ClusterSandbox> {
  const cluster = clusterAccess(args.kubernetes);
  const provider = new k8s.Provider("cluster", { kubeconfig: cluster.kubeconfig, context: cluster.context, namespace: cluster.namespace }, opts);
  const inside = { ...opts, provider };
  const secret =
    args.plans.size > 0
      ? new k8s.core.v1.Secret(
          "proxy-secrets",
          {
            metadata: {
              name: proxySecretName(args.identity),
              namespace: cluster.namespace,
              labels: { ...labelsFor(args.identity), [ROLE_LABEL]: CREDENTIAL_PROXY_ROLE },
            },
            type: "Opaque",
            stringData: pulumi
              .secret(pulumi.all([pulumi.all(args.apiKeys.map((key) => key ?? "")), args.gitToken ?? "", args.extraCaCerts ?? ""]))
              .apply(([apiKeys, gitToken, extraCa]) => proxySecretFiles(args.providers, { apiKeys, gitToken, extraCa })),
          },
          inside,
        )
      : undefined;
  const sandboxes = new Map<string, ClusterSandbox>();
  for (const sandbox of args.sandboxes) {
    const plan = args.plans.get(sandbox.name);
    sandboxes.set(
      sandbox.name,
      new ClusterSandbox(
        sandbox.name,
        {
          identity: args.identity,
          sandbox,
          cluster,
          image: args.imageFor(sandbox),
          proxyImage: args.proxyImage,
          agentUid: args.agentUid,
          agentGid: args.agentGid,
          credentialProxy: plan && secret ? { plan, secret } : undefined,
        },
        inside,
      ),
    );
  }
  return sandboxes;
}
