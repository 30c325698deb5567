/**
 * The Kubernetes section of the stack config (`kubernetes`): setting it moves the sandboxes to a cluster.
 * Its schema, and the rules a sandbox must meet there: what a cluster cannot give (a folder of this machine,
 * the Docker socket, the host's namespaces) is refused naming the key, before anything is declared.
 */
import { z } from "zod";
import { type GitRepo, gitRepoName, parseGitRepo } from "../egress/git-repos";
import { absolutePath, strictObject } from "../values/schema";

/** A namespace name as the API server accepts it (RFC 1123 label). */
const NAMESPACE_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const kubernetesSchema = strictObject({
  namespace: z
    .string({ error: 'must be a namespace name like "agents"' })
    .regex(NAMESPACE_PATTERN, { error: 'must be a namespace name: lowercase letters, digits and dashes, at most 63 (e.g. "agents")' }),
  context: z.string().min(1, { error: 'must be a kubeconfig context name like "kind-dev"' }).optional(),
  kubeconfig: absolutePath("/home/me/.kube/config").optional(),
});

export type KubernetesConfig = z.infer<typeof kubernetesSchema>;

/** A sandbox's settings as an always-run refinement may see them: possibly of the wrong types. */
type LooseSandbox = Record<string, unknown> & { egress?: Record<string, unknown> };

const CLUSTER_REFUSALS: readonly { readonly key: string; readonly set: (sandbox: LooseSandbox) => boolean; readonly why: string }[] = [
  {
    key: "workspace",
    set: (sandbox) => sandbox.workspace !== undefined,
    why: 'is a folder of this machine, which a cluster cannot mount; set repository: "git.example.com/org/repo" (listed in egress.gitRepos) to clone it into the sandbox\'s workspace volume',
  },
  {
    key: "mode",
    set: (sandbox) => sandbox.mode !== undefined && sandbox.mode !== "rw",
    why: "is about a folder of this machine; on a cluster the workspace is always the sandbox's own clone, so remove it",
  },
  {
    key: "mounts",
    set: (sandbox) => Array.isArray(sandbox.mounts) && sandbox.mounts.length > 0,
    why: "binds folders of this machine, which a cluster's pod cannot (hostPath is refused); remove them",
  },
  {
    key: "cloneCopy",
    set: (sandbox) => Array.isArray(sandbox.cloneCopy) && sandbox.cloneCopy.length > 0,
    why: "copies files of a folder of this machine; remove it",
  },
  { key: "dockerSocket", set: (sandbox) => sandbox.dockerSocket === true, why: "has no Docker socket to mount on a cluster; remove it" },
  { key: "privileged", set: (sandbox) => sandbox.privileged === true, why: "is refused on a cluster (the API server refuses privileged pods); remove it" },
  { key: "hostNetwork", set: (sandbox) => sandbox.hostNetwork === true, why: "would put the pod on the node's network; remove it" },
  { key: "hostPid", set: (sandbox) => sandbox.hostPid === true, why: "would show the pod the node's processes; remove it" },
  { key: "hostIpc", set: (sandbox) => sandbox.hostIpc === true, why: "would share the node's IPC namespace; remove it" },
  {
    key: "acknowledgeUnsafe",
    set: (sandbox) => Array.isArray(sandbox.acknowledgeUnsafe) && sandbox.acknowledgeUnsafe.includes("credentials-in-sandbox"),
    why: "names credentials-in-sandbox, which a cluster never allows: the stack's Secret is mounted by the credential proxy alone; list the repositories in egress.gitRepos instead",
  },
  {
    key: "resources.swap",
    set: (sandbox) =>
      typeof (sandbox.resources as { swap?: unknown } | undefined)?.swap === "string" && !/^0+[bkmg]?$/i.test((sandbox.resources as { swap: string }).swap),
    why: "asks for swap, which Kubernetes does not give pods; remove it",
  },
  {
    key: "egress.hostPorts",
    set: (sandbox) => Array.isArray(sandbox.egress?.hostPorts) && sandbox.egress.hostPorts.length > 0,
    why: "names ports of the Docker host, which a cluster's pod has no name for; list the service's host name in egress.allow instead",
  },
];

/** The refusals of a sandbox on the cluster, each at its key. */
export function clusterSandboxRules(sandbox: LooseSandbox, ctx: z.RefinementCtx, at: (string | number)[]): void {
  for (const refusal of CLUSTER_REFUSALS) {
    if (refusal.set(sandbox)) ctx.addIssue({ code: "custom", path: [...at, ...refusal.key.split(".")], message: `${refusal.why} (kubernetes is set)` });
  }
  const repository = repositoryName(sandbox.repository);
  const listed = Array.isArray(sandbox.egress?.gitRepos) ? sandbox.egress.gitRepos.map(repositoryName) : [];
  if (repository !== undefined && !listed.includes(repository)) {
    ctx.addIssue({
      code: "custom",
      path: [...at, "repository"],
      message: `"${repository}" is cloned through the credential proxy, which reaches only egress.gitRepos; add it there (gitRepos: ["${repository}"])`,
    });
  }
}

/** A repository as the refinement sees it, parsed (GitRepo) or not yet (its text), in one spelling. */
function repositoryName(value: unknown): string | undefined {
  if (typeof value === "object" && value !== null && "host" in value) return gitRepoName(value as GitRepo);
  if (typeof value !== "string") return undefined;
  const parsed = parseGitRepo(value);
  return parsed.ok ? gitRepoName(parsed.repo) : undefined;
}

/** The sandbox keys the Docker target reads differently: it needs a workspace folder and clones no repository. */
export function dockerSandboxRules(sandbox: LooseSandbox, ctx: z.RefinementCtx, at: (string | number)[]): void {
  if (sandbox.workspace === undefined) {
    ctx.addIssue({
      code: "custom",
      path: [...at, "workspace"],
      message: 'is required: the folder on the Docker host mounted at /workspace, e.g. "/home/me/code/project"',
    });
  }
  if (sandbox.repository !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: [...at, "repository"],
      message: "is cloned only on a cluster (kubernetes.namespace set); on Docker use workspace with mode: clone",
    });
  }
}

/** The cluster pulls the images from a registry, so they must be pushed there (by digest). */
export function clusterImageRules(image: Record<string, unknown>, ctx: z.RefinementCtx): void {
  if (image.registry === undefined || image.push !== true) {
    ctx.addIssue({
      code: "custom",
      path: ["image", image.registry === undefined ? "registry" : "push"],
      message:
        'the cluster pulls the agent and proxy images from a registry (kubernetes is set); set image.registry: {address: "registry.example.com"} and image.push: true',
    });
  }
  const registry = image.registry as { username?: unknown } | undefined;
  if (registry?.username !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["image", "registry", "username"],
      message:
        "a registry the cluster logs in to is not supported yet (kubernetes is set): give the nodes pull access to it (their container runtime's credentials) and remove username",
    });
  }
}

/** Limits a sandbox's config may set that a cluster's pod cannot hold it to: Kubernetes has no per-pod field for them. */
const NODE_WIDE_LIMITS = {
  pids: "the node's pod pids limit (kubelet's podPidsLimit) applies instead",
  openFiles: "the container runtime's open-files limit applies instead",
} as const;

/** What the deployment should say of a cluster stack's sandboxes without refusing them: the limits it sets that no pod enforces. */
export function clusterLimitWarnings(
  sandboxes: readonly { readonly resources?: { readonly pids?: unknown; readonly openFiles?: unknown } }[] | undefined,
): string[] {
  return (sandboxes ?? []).flatMap((sandbox, index) =>
    Object.entries(NODE_WIDE_LIMITS)
      .filter(([key]) => sandbox?.resources?.[key as keyof typeof NODE_WIDE_LIMITS] !== undefined)
      .map(([key, instead]) => `sandboxes[${index}].resources.${key}: not enforced per pod on a cluster (kubernetes is set); ${instead}`),
  );
}
