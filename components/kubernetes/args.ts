/** The Kubernetes section of the component's arguments (`kubernetes`), documented. */

/** The cluster the sandboxes run on instead of the Docker engine (which then only builds the images). */
export interface KubernetesArgs {
  /** The namespace the sandboxes, their proxies, claims, Secrets and NetworkPolicies go to; it must exist. */
  readonly namespace: string;
  /** The kubeconfig context to use; unset: the kubeconfig's current context. */
  readonly context?: string;
  /** Path of the kubeconfig file (absolute); unset: KUBECONFIG, else ~/.kube/config. */
  readonly kubeconfig?: string;
}
