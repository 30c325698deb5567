/**
 * One sandbox on a cluster: its pod (sandbox-pod.ts), its proxies' pods and Services (proxy-pods.ts), the
 * NetworkPolicies that keep it to them (network-policies.ts), and claims for its home and workspace that
 * outlive the pod, so a replaced pod keeps its logins and its clone. The repository is cloned once,
 * through the credential proxy, when the pod first runs.
 */
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { agentProfile } from "../agents";
import type { CredentialProxyPlan } from "../credentials/nginx-conf";
import { egressPolicyFor } from "../egress/config";
import { type GitRepo, gitRepoAuthority } from "../egress/git-repos";
import { deniedIn } from "../egress/network";
import type { StackIdentity } from "../engine/naming";
import { shellWords } from "../engine/shell";
import { CREDENTIAL_PROXY_ROLE } from "../guardrails/credentials";
import { bringBackRefspec } from "../sandbox/clone";
import type { SandboxConfig } from "../sandbox/config";
import { agentUserOf } from "../sandbox/container";
import { WORKSPACE_PATH } from "../sandbox/contract";
import type { SandboxExec } from "../sandbox/exec";
import type { RunPodSource } from "../sandbox/run-pod";
import { sandboxTopology } from "../sandbox/topology";
import { type ClusterAccess, clusterExec, kubectlCommand } from "./kubectl";
import { clusterLabels, clusterObjectNames, EGRESS_PROXY_ROLE, SANDBOX_CONTAINER } from "./naming";
import { sandboxNetworkPolicies } from "./network-policies";
import { CREDENTIAL_PROXY_PORTS, credentialProxyPodArgs, EGRESS_PROXY_PORTS, egressProxyPodArgs, proxyServiceArgs } from "./proxy-pods";
import { sandboxPodArgs } from "./sandbox-pod";

/** What each claim asks for; a provisioner that enforces sizes holds the sandbox to it. */
const CLAIM_SIZE = "10Gi";

export interface ClusterSandboxArgs {
  readonly identity: StackIdentity;
  readonly sandbox: SandboxConfig;
  readonly cluster: ClusterAccess;
  /** The agent image as the cluster pulls it: `registry/repository:tag@sha256:…`. */
  readonly image: pulumi.Input<string>;
  /** The proxy image, likewise; required when the sandbox has a proxy. */
  readonly proxyImage?: pulumi.Input<string>;
  readonly agentUid: number;
  readonly agentGid: number;
  /** The sandbox's credential proxy plan and the stack's Secret it mounts. */
  readonly credentialProxy?: { readonly plan: CredentialProxyPlan; readonly secret: k8s.core.v1.Secret };
}

/** The repository's URL as git in the sandbox clones it; its git configuration sends it to the credential proxy. */
const cloneUrl = (repo: GitRepo) => `https://${gitRepoAuthority(repo)}/${repo.path}.git`;

export class ClusterSandbox extends pulumi.ComponentResource {
  /** The pod's name (what runs exec into, as a Docker sandbox's container name). */
  public readonly containerName: pulumi.Output<string>;
  /** The claim holding the agent's home. */
  public readonly homeVolumeName: pulumi.Output<string>;
  /** The pod already runs as the agent user; runs pass no user of their own. */
  public readonly agentUser: string;
  /** Complete once the pod is Ready (the provider waits for it) and its repository cloned; runs depend on it. */
  public readonly ready: pulumi.Resource;
  /** How runs reach the sandbox. */
  public readonly exec: SandboxExec;
  public readonly shellCommand: string;
  public readonly agentCommand: string;
  /** With a repository: pushes the agent's branches to it as `sandbox/<name>/<branch>`, then fetches them here. */
  public readonly bringBackCommand?: string;
  /** Prints the requests its egress proxy refused (allowlist mode). */
  public readonly deniedLogCommand?: string;
  /** No network of its own: NetworkPolicies keep it to its proxies. */
  public readonly networkName: undefined = undefined;
  /** Its runs' Jobs are made from its pod, not a container. */
  public readonly runContainer: undefined = undefined;
  /** The sandbox pod's own spec, which an ephemeral run makes its Job from. */
  public readonly runPod: RunPodSource;

  constructor(name: string, args: ClusterSandboxArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-sandbox:index:ClusterSandbox", name, {}, opts);
    const { identity, sandbox, cluster } = args;
    const { namespace } = cluster;
    const names = clusterObjectNames(identity, sandbox.name);
    const topology = sandboxTopology(sandbox);
    const child = { parent: this };
    const proxyImage = (): pulumi.Input<string> => {
      if (!args.proxyImage) throw new Error(`sandbox ${sandbox.name}: its proxies need the proxy image`);
      return args.proxyImage;
    };

    const claim = (suffix: string, claimName: string) =>
      new k8s.core.v1.PersistentVolumeClaim(
        `${name}-${suffix}`,
        {
          // A provisioner binding on first use would keep the provider waiting for a pod that waits for the claim.
          metadata: {
            name: claimName,
            namespace,
            labels: clusterLabels(identity, sandbox.name),
            annotations: { "pulumi.com/skipAwait": "true" },
          },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: CLAIM_SIZE } } },
        },
        child,
      );
    const home = claim("home", names.home);
    const workspace = claim("workspace", names.workspace);

    const egressPolicy = topology.egressProxy ? egressPolicyFor(sandbox.egress, sandbox.agent, sandbox.auth) : undefined;
    const policies = Object.entries(
      sandboxNetworkPolicies(identity, sandbox.name, { namespace, topology, egressPolicy, credentialProxy: args.credentialProxy?.plan }),
    ).map(([role, policyArgs]) => new k8s.networking.v1.NetworkPolicy(`${name}-${role}-policy`, policyArgs, child));

    const proxies: pulumi.Resource[] = [];
    let egressService: k8s.core.v1.Service | undefined;
    if (egressPolicy) {
      proxies.push(
        new k8s.core.v1.Pod(`${name}-egress`, egressProxyPodArgs(identity, sandbox.name, egressPolicy, { namespace, image: proxyImage() }), {
          ...child,
          dependsOn: policies,
          deleteBeforeReplace: true,
        }),
      );
      egressService = new k8s.core.v1.Service(
        `${name}-egress`,
        proxyServiceArgs(identity, sandbox.name, EGRESS_PROXY_ROLE, names.egressProxy, EGRESS_PROXY_PORTS, namespace),
        child,
      );
    }
    let credentialService: k8s.core.v1.Service | undefined;
    if (topology.credentialProxy) {
      if (!args.credentialProxy) throw new Error(`sandbox ${sandbox.name}: its topology has a credential proxy, but no plan and Secret were given for it`);
      const { plan, secret } = args.credentialProxy;
      proxies.push(
        new k8s.core.v1.Pod(`${name}-credential-proxy`, credentialProxyPodArgs(identity, plan, secret.metadata.name, { namespace, image: proxyImage() }), {
          ...child,
          dependsOn: [...policies, secret],
          deleteBeforeReplace: true,
        }),
      );
      credentialService = new k8s.core.v1.Service(
        `${name}-credential-proxy`,
        proxyServiceArgs(identity, sandbox.name, CREDENTIAL_PROXY_ROLE, names.credentialProxy, CREDENTIAL_PROXY_PORTS, namespace),
        child,
      );
    }

    const podArgs = sandboxPodArgs(
      identity,
      sandbox,
      { uid: args.agentUid, gid: args.agentGid },
      {
        namespace,
        image: args.image,
        egressProxyAddress: egressService?.spec.clusterIP,
        credentialProxyAddress: credentialService?.spec.clusterIP,
      },
    );
    const pod = new k8s.core.v1.Pod(
      name,
      podArgs,
      // Its policy first: the pod never runs a moment without it. Its proxies first: its health check asks the egress proxy.
      // The old pod goes first on every replacement: the provider would apply the new one onto the old one's
      // name (server-side apply adopts it), then deleting the old one would remove the new (npm run refresh).
      { ...child, dependsOn: [home, workspace, ...policies, ...proxies], deleteBeforeReplace: true },
    );

    this.exec = clusterExec(cluster);
    this.runPod = {
      spec: () => pulumi.output(podArgs.spec).apply((spec) => ({ ...spec }) as Record<string, unknown>),
      labels: clusterLabels(identity, sandbox.name),
      namespace,
      kubectl: kubectlCommand(cluster, []),
      health: sandbox.healthcheck,
    };
    const repository = sandbox.repository;
    this.ready = repository
      ? new command.local.Command(
          `${name}-clone`,
          {
            create: `set -eu\n${this.exec.line(shellWords(["sh", "-c", `if [ ! -e .git ]; then git clone --quiet ${cloneUrl(repository)} ${WORKSPACE_PATH}; fi`]))}`,
            environment: { CONTAINER: pod.metadata.name },
            triggers: [pod.metadata.uid],
          },
          { ...child, dependsOn: [pod] },
        )
      : pod;

    const exec = (words: readonly string[], interactive = true) =>
      kubectlCommand(cluster, ["exec", ...(interactive ? ["-it"] : []), names.pod, "-c", SANDBOX_CONTAINER, "--", ...words]);
    this.shellCommand = exec(["bash"]);
    this.agentCommand = exec(["agent-exec", agentProfile(sandbox.agent).executable]);
    this.bringBackCommand = repository
      ? `${exec(["git", "-C", WORKSPACE_PATH, "push", "--quiet", "origin", bringBackRefspec(sandbox.name)], false)} && git fetch --quiet ${cloneUrl(repository)} ${shellWords([`+refs/heads/sandbox/${sandbox.name}/*:refs/heads/sandbox/${sandbox.name}/*`])}`
      : undefined;
    this.deniedLogCommand = egressPolicy ? deniedIn(kubectlCommand(cluster, ["logs", names.egressProxy])) : undefined;
    this.containerName = pod.metadata.name;
    this.homeVolumeName = home.metadata.name;
    this.agentUser = agentUserOf(sandbox, { uid: args.agentUid, gid: args.agentGid });
    this.registerOutputs({
      containerName: this.containerName,
      homeVolumeName: this.homeVolumeName,
      shellCommand: this.shellCommand,
      agentCommand: this.agentCommand,
    });
  }
}
