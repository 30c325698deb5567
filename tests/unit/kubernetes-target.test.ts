/**
 * The Kubernetes target under mocks (issue #26): the real program with `kubernetes` set declares pods,
 * Services, claims, a Secret and NetworkPolicies instead of containers, with the sandbox pod hardened, kept
 * to its two proxies, and holding no secret.
 */
import { describe, expect, it } from "vitest";
import type { AgentSandboxesArgs } from "../../components/config/args";
import { resolveArgs } from "../../components/config/resolve-args";
import { parseStackConfig } from "../../components/config/stack-schema";
import { ConfigError } from "../../components/values/config-error";
import { type Evaluation, evaluateProgram, type RecordedResource } from "./support/program";

const API_KEY = "sk-ant-test-0000-not-a-real-key";
const GIT_TOKEN = "ghp_test0000notarealtoken";
const REPO = "git.example.com/team/app";
const homeDir = "/home/dev";

const clusterConfig = (sandbox: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  kubernetes: { namespace: "agents" },
  image: { registry: { address: "127.0.0.1:5000" }, push: true },
  sandboxes: [{ name: "main", isolation: "gvisor", repository: REPO, egress: { gitRepos: [REPO] }, ...sandbox }],
  ...extra,
});

const POD = "kubernetes:core/v1:Pod";
const POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

type PodInputs = {
  metadata: { name: string; labels: Record<string, string> };
  spec: Record<string, any> & { containers: Record<string, any>[]; volumes: Record<string, any>[] };
};
const podOf = (program: Evaluation, name: string) => program.one(POD, name).inputs as PodInputs;

let cached: Promise<Evaluation> | undefined;
const clusterProgram = () => {
  cached ??= evaluateProgram({ config: clusterConfig(), secrets: { anthropicApiKey: API_KEY, gitToken: GIT_TOKEN } });
  return cached;
};

describe("the Kubernetes target under mocks", () => {
  it("declares the sandbox, its proxies, claims and policies on the cluster, and no container", async () => {
    const program = await clusterProgram();
    expect(program.ofType("docker:index/container:Container")).toEqual([]);
    expect(
      program
        .ofType(POD)
        .map((pod) => pod.inputs.metadata.name)
        .sort(),
    ).toEqual(["agent-sandbox-dev-main", "agent-sandbox-dev-main-credential-proxy", "agent-sandbox-dev-main-egress"]);
    expect(
      program
        .ofType("kubernetes:core/v1:PersistentVolumeClaim")
        .map((claim) => claim.inputs.metadata.name)
        .sort(),
    ).toEqual(["agent-sandbox-dev-main-clone", "agent-sandbox-dev-main-home"]);
    for (const resource of [...program.ofType(POD), ...program.ofType(POLICY), ...program.ofType("kubernetes:core/v1:Service")]) {
      expect(resource.inputs.metadata.namespace, resource.name).toBe("agents");
    }
  });

  it("hardens the sandbox pod: non-root, no capabilities, no privilege gain, read-only root, seccomp, gVisor, limits, no token", async () => {
    const pod = podOf(await clusterProgram(), "main");
    const [container] = pod.spec.containers;
    expect(pod.spec.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container.securityContext).toEqual({
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(pod.spec.runtimeClassName).toBe("gvisor");
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.enableServiceLinks).toBe(false);
    expect(pod.spec.hostNetwork ?? false).toBe(false);
    expect(container.resources.limits).toEqual({ cpu: "4000m", memory: "8192Mi" });
    expect(container.resources.requests.memory).toBe(container.resources.limits.memory);
    expect(pod.spec.volumes).toContainEqual({ name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "1024Mi" } });
    expect(container.image).toMatch(/^127\.0\.0\.1:5000\/agent-sandbox\/agent:dev@sha256:[0-9a-f]{64}$/);
    // Ready only once the image's check passes and the API server is refused (its policy is in force).
    expect(container.readinessProbe.exec.command.join(" ")).toMatch(/agent-healthcheck && .*! timeout 2 bash -c .*KUBERNETES_SERVICE_HOST/);
  });

  it("deletes a replaced pod before making its successor, which takes the same name", async () => {
    const program = await clusterProgram();
    for (const pod of program.ofType(POD)) expect(pod.options.deleteBeforeReplace, pod.name).toBe(true);
  });

  it("names its proxies by their Services' addresses in /etc/hosts and gives the sandbox no DNS", async () => {
    const program = await clusterProgram();
    const pod = podOf(program, "main");
    const address = (name: string) => program.one("kubernetes:core/v1:Service", name).inputs;
    expect(pod.spec.hostAliases).toHaveLength(2);
    expect(pod.spec.dnsPolicy).toBe("None");
    expect(pod.spec.dnsConfig).toEqual({ nameservers: ["127.0.0.1"] });
    expect(address("main-egress").metadata.name).toBe("agent-sandbox-dev-main-egress");
    expect(pod.spec.hostAliases.map((alias: { hostnames: string[] }) => alias.hostnames[0]).sort()).toEqual(["credential-proxy", "egress-proxy"]);
    for (const alias of pod.spec.hostAliases) expect(alias.ip).toMatch(/^10\.96\.\d+\.\d+$/);
  });

  it("keeps the sandbox to its two proxies and each proxy to its sandbox", async () => {
    const program = await clusterProgram();
    const policies = new Map(program.ofType(POLICY).map((policy) => [policy.inputs.metadata.name as string, policy.inputs.spec]));
    const sandbox = policies.get("agent-sandbox-dev-main")!;
    expect(sandbox.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(sandbox.ingress).toEqual([]);
    expect(sandbox.podSelector.matchExpressions).toEqual([{ key: "dev.agent-sandbox.role", operator: "DoesNotExist" }]);
    // Only pod selectors of its own proxies: no ipBlock, no namespace, no DNS.
    expect(sandbox.egress).toEqual([
      {
        to: [{ podSelector: { matchLabels: expect.objectContaining({ "dev.agent-sandbox.role": "egress-proxy", "dev.agent-sandbox.sandbox": "main" }) } }],
        ports: [{ protocol: "TCP", port: 3128 }],
      },
      {
        to: [{ podSelector: { matchLabels: expect.objectContaining({ "dev.agent-sandbox.role": "credential-proxy", "dev.agent-sandbox.sandbox": "main" }) } }],
        ports: [
          { protocol: "TCP", port: 8080 },
          { protocol: "TCP", port: 8081 },
        ],
      },
    ]);
    for (const [name, ports] of [
      ["agent-sandbox-dev-main-egress", [3128]],
      ["agent-sandbox-dev-main-credential-proxy", [8080, 8081]],
    ] as const) {
      const proxy = policies.get(name)!;
      expect(proxy.ingress, name).toEqual([{ from: [{ podSelector: sandbox.podSelector }], ports: ports.map((port) => ({ protocol: "TCP", port })) }]);
      const outside = proxy.egress.find((rule: { to: { ipBlock?: unknown }[] }) => rule.to[0].ipBlock);
      expect(outside.to[0].ipBlock.except, name).toEqual(expect.arrayContaining(["10.0.0.0/8", "169.254.0.0/16", "127.0.0.0/8"]));
    }
  });

  it("puts the keys in one Secret, a secret input, mounted by the credential proxy alone; no pod's spec holds them", async () => {
    const program = await clusterProgram();
    const secret = program.one("kubernetes:core/v1:Secret", "proxy-secrets");
    expect(secret.options.secretInputs).toContain("stringData");
    expect(secret.inputs.stringData["api-key-anthropic.conf"]).toBe(`proxy_set_header x-api-key "${API_KEY}";\n`);
    expect(Object.keys(secret.inputs.stringData).sort()).toEqual(["api-key-anthropic.conf", "git-authorization.conf"]);
    const mounting = program.ofType(POD).filter((pod: RecordedResource) => JSON.stringify(pod.inputs).includes(secret.inputs.metadata.name));
    expect(mounting.map((pod) => pod.name)).toEqual(["main-credential-proxy"]);
    for (const pod of program.ofType(POD)) {
      const text = JSON.stringify(pod.inputs);
      expect(text, pod.name).not.toContain(API_KEY);
      expect(text, pod.name).not.toContain(GIT_TOKEN);
      expect(text, pod.name).not.toContain(Buffer.from(`x-access-token:${GIT_TOKEN}`).toString("base64"));
    }
    const sandbox = podOf(program, "main");
    expect(JSON.stringify(sandbox.spec)).not.toMatch(/secretKeyRef|secretRef|"secret":/);
  });

  it("clones the repository through the credential proxy once the pod is ready, and runs exec into the pod", async () => {
    const program = await evaluateProgram({
      config: clusterConfig({}, { runs: [{ name: "fix", sandbox: "main", prompt: "fix it" }] }),
      secrets: { anthropicApiKey: API_KEY },
      runStdout: "",
    }).catch((error) => error);
    const clone = (program as Evaluation).one("command:local:Command", "main-clone").inputs;
    expect(clone.create).toContain(`git clone --quiet https://${REPO}.git /workspace`);
    expect(clone.create).toMatch(/kubectl --kubeconfig \S+ -n agents exec -c sandbox "\$CONTAINER" -- sh -c/);
    const run = (program as Evaluation).one("command:local:Command", "run-fix").inputs;
    expect(run.create).toMatch(/kubectl --kubeconfig \S+ -n agents exec -i -c sandbox "\$CONTAINER" -- sh -c 'cd \/workspace && exec "\$@"' sh agent-exec/);
  });
});

describe("ephemeral runs on the cluster", () => {
  it("make a Job from the sandbox's own pod spec, exec the agent into it, and remove the run's Jobs at destroy", async () => {
    const program = await evaluateProgram({
      config: clusterConfig({}, { runs: [{ name: "plan", sandbox: "main", prompt: "plan it", ephemeral: true, keepFinished: 2 }] }),
      secrets: { anthropicApiKey: API_KEY },
    });
    const run = program.one("command:local:Command", "run-plan").inputs;
    const job = JSON.parse(run.environment.JOB_MANIFEST);
    const sandbox = podOf(program, "main");
    expect(job.kind).toBe("Job");
    expect(job.spec.backoffLimit).toBe(0);
    expect(job.spec.template.metadata.labels).toEqual({ ...sandbox.metadata.labels, "dev.agent-sandbox.run": "plan" });
    const { containers, restartPolicy, ...podSpec } = job.spec.template.spec;
    const { containers: sandboxContainers, restartPolicy: _, ...sandboxSpec } = sandbox.spec;
    expect(restartPolicy).toBe("Never");
    expect(podSpec).toEqual(sandboxSpec);
    expect({ ...containers[0], command: undefined }).toEqual({ ...sandboxContainers[0], command: undefined });
    expect(run.environment.JOB_PREFIX.length + 1 + 10 + 1 + 7, "the Job's name stays a label value").toBeLessThanOrEqual(63);
    expect(run.environment.KEEP_FINISHED).toBe("2");
    expect(run.create).toMatch(/kubectl --kubeconfig \S+ -n agents create -f -/);
    const cleanup = program.one("command:local:Command", "run-plan-containers").inputs;
    expect(cleanup.delete).toMatch(/get jobs -l '[^']*dev\.agent-sandbox\.run=plan'/);
  });
});

describe("the Kubernetes target's config rules", () => {
  const problemsOf = (raw: Record<string, unknown>): string[] => {
    try {
      parseStackConfig(raw, { homeDir });
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return [...error.problems];
      throw error;
    }
  };

  it("accepts a cluster's sandbox that clones a listed repository", () => {
    expect(problemsOf(clusterConfig())).toEqual([]);
  });

  it.each([
    ["a host folder", { workspace: "/home/dev/app" }, /^sandboxes\[0\]\.workspace: is a folder of this machine/],
    ["bind mounts", { mounts: [{ source: "/home/dev/.npmrc", target: "/home/agent/.npmrc" }] }, /^sandboxes\[0\]\.mounts: binds folders of this machine/],
    ["the Docker socket", { dockerSocket: true, acknowledgeUnsafe: ["docker-socket"] }, /^sandboxes\[0\]\.dockerSocket: has no Docker socket/],
    ["host ports", { egress: { gitRepos: [REPO], hostPorts: [8080] } }, /^sandboxes\[0\]\.egress\.hostPorts: names ports of the Docker host/],
    ["swap", { resources: { swap: "1g" } }, /^sandboxes\[0\]\.resources\.swap: asks for swap/],
    ["the token inside", { acknowledgeUnsafe: ["credentials-in-sandbox"] }, /^sandboxes\[0\]\.acknowledgeUnsafe: names credentials-in-sandbox/],
    [
      "an unlisted repository",
      { repository: "git.example.com/team/other" },
      /^sandboxes\[0\]\.repository: "git\.example\.com\/team\/other" is cloned through the credential proxy, which reaches only egress\.gitRepos/,
    ],
  ])("refuses %s, naming the key", (_, sandbox, message) => {
    expect(problemsOf(clusterConfig(sandbox))).toEqual([expect.stringMatching(message)]);
  });

  it("refuses an image the cluster could not pull", () => {
    const unpushed = { ...clusterConfig(), image: {} };
    expect(problemsOf(unpushed)).toEqual([expect.stringMatching(/^image\.registry: the cluster pulls the agent and proxy images from a registry/)]);
  });

  it("warns of the limits a pod is not held to, naming each key set", () => {
    const resolved = resolveArgs(
      clusterConfig({ resources: { pids: 512, openFiles: 4096, memory: "1g" } }) as AgentSandboxesArgs,
      undefined,
      homeDir,
      undefined,
      {},
      undefined,
      undefined,
    );
    expect(resolved.warnings).toEqual([
      expect.stringMatching(/^sandboxes\[0\]\.resources\.pids: not enforced per pod on a cluster .*podPidsLimit/),
      expect.stringMatching(/^sandboxes\[0\]\.resources\.openFiles: not enforced per pod on a cluster/),
    ]);
    expect(resolveArgs(clusterConfig() as AgentSandboxesArgs, undefined, homeDir, undefined, {}, undefined, undefined).warnings).toEqual([]);
  });

  it("keeps Docker's rules on Docker: a workspace is required and no repository is cloned", () => {
    expect(problemsOf({ sandboxes: [{ name: "main" }] })).toEqual([expect.stringMatching(/^sandboxes\[0\]\.workspace: is required/)]);
    expect(problemsOf({ sandboxes: [{ name: "main", workspace: "/home/dev/app", repository: REPO, egress: { gitRepos: [REPO] } }] })).toEqual([
      expect.stringMatching(/^sandboxes\[0\]\.repository: is cloned only on a cluster/),
    ]);
  });
});
