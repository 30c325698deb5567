/**
 * How the stack reaches its cluster: the kubeconfig and context the provider and every `kubectl` line use,
 * resolved once, so a command never lands on another cluster than the resources do.
 */
import * as os from "node:os";
import * as path from "node:path";
import { shellQuote } from "../engine/shell";
import { WORKSPACE_PATH } from "../sandbox/contract";
import type { SandboxExec } from "../sandbox/exec";
import type { KubernetesConfig } from "./config";
import { SANDBOX_CONTAINER } from "./naming";

export interface ClusterAccess {
  readonly namespace: string;
  /** The kubeconfig file: the config's, else KUBECONFIG's first, else ~/.kube/config. */
  readonly kubeconfig: string;
  readonly context?: string;
}

export function clusterAccess(config: KubernetesConfig, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): ClusterAccess {
  const fromEnvironment = env.KUBECONFIG?.split(path.delimiter).find((entry) => entry !== "");
  return {
    namespace: config.namespace,
    kubeconfig: config.kubeconfig ?? fromEnvironment ?? path.join(home, ".kube", "config"),
    ...(config.context ? { context: config.context } : {}),
  };
}

/** `kubectl` with the stack's kubeconfig, context and namespace, as a person types it. */
export function kubectlCommand(cluster: ClusterAccess, args: readonly string[]): string {
  const words = ["kubectl", "--kubeconfig", cluster.kubeconfig, ...(cluster.context ? ["--context", cluster.context] : []), "-n", cluster.namespace, ...args];
  return words.map((word) => (/^[A-Za-z0-9_.:/@=-]+$/.test(word) ? word : shellQuote(word))).join(" ");
}

/** On a cluster: `kubectl exec` into the sandbox container of the pod in CONTAINER; the pod already runs as the agent user. */
export function clusterExec(cluster: ClusterAccess): SandboxExec {
  return {
    env: {},
    line: (words, options) =>
      `${kubectlCommand(cluster, ["exec", ...(options?.stdin ? ["-i"] : []), "-c", SANDBOX_CONTAINER])} "$CONTAINER" -- sh -c 'cd ${WORKSPACE_PATH} && exec "$@"' sh ${words}`,
  };
}
