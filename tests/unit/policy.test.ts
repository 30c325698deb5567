import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config/stack-schema";
import { credentialProxyContainerArgs } from "../../components/credentials/credential-proxy";
import { credentialProxyPlanFor } from "../../components/credentials/plan";
import { egressPolicyFor } from "../../components/egress/config";
import { proxyContainerArgs } from "../../components/egress/egress-proxy";
import { engineClient } from "../../components/engine/client";
import { ROLE_LABEL } from "../../components/engine/naming";
import { CREDENTIAL_PROXY_ROLE } from "../../components/guardrails/credentials";
import { ACKNOWLEDGED_UNSAFE_LABEL, SECRETS_PATH } from "../../components/guardrails/host-paths";
import { credentialProxyPodArgs, egressProxyPodArgs } from "../../components/kubernetes/proxy-pods";
import { sandboxPodArgs } from "../../components/kubernetes/sandbox-pod";
import { containerArgsFor } from "../../components/sandbox/container";
import { quantityMegabytes } from "../../policy/pod-inputs";
import { CONTAINER_TYPE, hardeningPolicies } from "../../policy/policies";
import { containerViolations } from "../../policy/rules";

const homeDir = "/home/dev";

const identity = { project: "agent-sandbox", stack: "dev" };
const [sandbox] = parseStackConfig({ workspace: "/home/dev/components/app" }, { homeDir }).sandboxes;

/**
 * The sandbox container exactly as the program declares it (plain values where the program has outputs):
 * by default without the credentials volume, which it mounts only where the config acknowledged
 * credentials-in-sandbox.
 */
function hardenedContainer(options: { credentialsInSandbox?: boolean } = {}): Record<string, unknown> {
  const acknowledged = parseStackConfig(
    { sandboxes: [{ name: "main", workspace: "/home/dev/components/app", acknowledgeUnsafe: ["credentials-in-sandbox"] }] },
    { homeDir },
  ).sandboxes[0];
  const args = containerArgsFor(
    identity,
    options.credentialsInSandbox ? acknowledged : sandbox,
    { uid: 1000, gid: 1000 },
    {
      imageId: "sha256:agent",
      networkName: "agent-sandbox-dev-main-net",
      homeVolume: "agent-sandbox-dev-main-home",
      protectedPaths: [],
      credentialsVolume: options.credentialsInSandbox ? "agent-sandbox-dev-credentials" : undefined,
      engine: engineClient(),
    },
  );
  return JSON.parse(JSON.stringify(args));
}

/** The sandbox's egress proxy container as the program declares it. */
function proxyContainer(): Record<string, unknown> {
  const policy = egressPolicyFor(sandbox.egress, sandbox.agent, sandbox.auth);
  const args = proxyContainerArgs(
    { identity, sandboxName: sandbox.name, policy, imageId: "sha256:proxy", engine: engineClient() },
    { internal: "agent-sandbox-dev-main-net", outbound: "agent-sandbox-dev-main-egress-net", outboundGateway: () => "10.0.0.1" },
  );
  return JSON.parse(JSON.stringify(args));
}

/** The sandbox's credential proxy container as the program declares it. */
function credentialProxyContainer(): Record<string, unknown> {
  const plan = credentialProxyPlanFor(sandbox, { apiKeys: ["anthropicApiKey"], gitToken: true })!;
  const args = credentialProxyContainerArgs({
    identity,
    plan,
    outboundGateway: () => "10.0.0.1",
    sandboxNetwork: "agent-sandbox-dev-main-net",
    outboundNetwork: "agent-sandbox-dev-main-egress-net",
    engine: engineClient(),
    imageId: "sha256:proxy",
    secretsVolume: "agent-sandbox-dev-proxy-secrets",
  });
  return JSON.parse(JSON.stringify(args));
}

function argsFor(props: Record<string, unknown>, type = CONTAINER_TYPE): ResourceValidationArgs {
  return {
    type,
    props,
    urn: `urn:pulumi:dev::agent-sandbox::${type}::sandbox`,
    name: "sandbox",
    opts: {
      protect: false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
    },
    stackTags: new Map(),
    isType: () => type === CONTAINER_TYPE,
    asType: () => undefined,
    getConfig: <T extends object>() => ({ homeDir }) as T,
    notApplicable: (reason?: string): never => {
      throw new Error(`not applicable: ${reason}`);
    },
  };
}

function policyNamed(name: string): ResourceValidationPolicy {
  const policy = hardeningPolicies.find((candidate) => candidate.name === name);
  if (policy === undefined) {
    throw new Error(`no policy named ${name}; have ${hardeningPolicies.map((p) => p.name).join(", ")}`);
  }
  return policy;
}

/** Runs one policy the way the CrossGuard server does and returns the reported messages. */
async function violationsOf(name: string, props: Record<string, unknown>, type?: string): Promise<string[]> {
  const messages: string[] = [];
  const validations = [policyNamed(name).validateResource ?? []].flat();
  for (const validate of validations) {
    await validate(argsFor(props, type), (message) => messages.push(message));
  }
  return messages;
}

function withChanges(changes: Record<string, unknown>): Record<string, unknown> {
  return { ...hardenedContainer(), ...changes };
}

function acknowledging(items: string, changes: Record<string, unknown>): Record<string, unknown> {
  return withChanges({ ...changes, labels: [{ label: ACKNOWLEDGED_UNSAFE_LABEL, value: items }] });
}

describe("agent-sandbox-hardening policies", () => {
  it("are all mandatory", () => {
    expect(hardeningPolicies.map((p) => p.enforcementLevel)).toEqual(hardeningPolicies.map(() => "mandatory"));
  });

  it.each(hardeningPolicies.map((p) => p.name))("%s passes the hardened container the program declares", async (name) => {
    expect(await violationsOf(name, hardenedContainer())).toEqual([]);
  });

  it.each(hardeningPolicies.map((p) => p.name))("%s passes the egress proxy container the program declares", async (name) => {
    expect(await violationsOf(name, proxyContainer())).toEqual([]);
  });

  it.each(hardeningPolicies.map((p) => p.name))("%s passes the credential proxy container the program declares", async (name) => {
    expect(await violationsOf(name, credentialProxyContainer())).toEqual([]);
  });

  it("ignore resources that are not Docker containers", async () => {
    expect(await violationsOf("not-privileged", { privileged: true }, "docker:index/network:Network")).toEqual([]);
  });

  it("refuses a container that binds the Docker socket through mounts", async () => {
    const mounts = [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" }];
    expect(await violationsOf("no-docker-socket", withChanges({ mounts }))).toEqual([expect.stringMatching(/mounts\[0\].*socket/)]);
  });

  it("refuses a container that binds Podman's socket, or its folder, whichever engine the stack runs on", async () => {
    const mounts = [
      { type: "bind", source: "/run/podman/podman.sock", target: "/var/run/docker.sock" },
      { type: "bind", source: "/run/podman", target: "/host-podman" },
    ];
    expect(await violationsOf("no-docker-socket", withChanges({ mounts }))).toEqual([
      expect.stringMatching(/mounts\[0\].*socket/),
      expect.stringMatching(/mounts\[1\].*socket/),
    ]);
  });

  it("refuses a container that binds the Docker socket folder through volumes", async () => {
    const volumes = [{ hostPath: "/run/", containerPath: "/host-run" }];
    expect(await violationsOf("no-docker-socket", withChanges({ volumes }))).toEqual([expect.stringMatching(/volumes\[0\].*socket/)]);
  });

  it("refuses a privileged container", async () => {
    expect(await violationsOf("not-privileged", withChanges({ privileged: true }))).toEqual([expect.stringMatching(/privileged is true/)]);
  });

  it("refuses a container that does not drop ALL capabilities", async () => {
    const capabilities = { drops: ["NET_RAW"] };
    expect(await violationsOf("drop-all-capabilities", withChanges({ capabilities }))).toEqual([expect.stringMatching(/drops: \["ALL"\]/)]);
  });

  it("refuses a container that adds a capability back", async () => {
    const capabilities = { drops: ["ALL"], adds: ["SYS_ADMIN"] };
    expect(await violationsOf("no-added-capabilities", withChanges({ capabilities }))).toEqual([expect.stringMatching(/SYS_ADMIN/)]);
  });

  it.each(["no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"])("accepts securityOpts %s", async (opt) => {
    expect(await violationsOf("no-new-privileges", withChanges({ securityOpts: [opt] }))).toEqual([]);
  });

  it("refuses a container whose no-new-privileges is false", async () => {
    const securityOpts = ["no-new-privileges:false"];
    expect(await violationsOf("no-new-privileges", withChanges({ securityOpts }))).toEqual([expect.stringMatching(/no-new-privileges:true/)]);
  });

  it.each([undefined, "", "root", "0", "0:0", "root:agent"])("refuses user %s", async (user) => {
    expect(await violationsOf("non-root-user", withChanges({ user }))).toEqual([expect.stringMatching(/^user is .*UID:GID/)]);
  });

  it.each([undefined, 0])("refuses memory %s", async (memory) => {
    expect(await violationsOf("memory-limit", withChanges({ memory }))).toEqual([expect.stringMatching(/memory is .* limit in MB/)]);
  });

  it.each([
    ["networkMode", "network"],
    ["pidMode", "pid"],
    ["ipcMode", "ipc"],
    ["usernsMode", "user"],
  ])("refuses %s host", async (input, kind) => {
    expect(await violationsOf("no-host-namespaces", withChanges({ [input]: "host" }))).toEqual([
      expect.stringMatching(new RegExp(`${input} is "host".*${kind}`)),
    ]);
  });

  it("accepts a private network mode", async () => {
    expect(await violationsOf("no-host-namespaces", withChanges({ networkMode: "bridge" }))).toEqual([]);
  });

  it.each(["/", "/etc", "/home/dev", "/proc", "/home/dev/components/../../../sys"])("refuses binding host path %s", async (source) => {
    const mounts = [{ type: "bind", source, target: "/workspace" }];
    expect(await violationsOf("no-sensitive-host-paths", withChanges({ mounts }))).toEqual([expect.stringMatching(/^mounts\[0\]\.source: /)]);
  });

  it("judges the home folder from the policy config", async () => {
    const volumes = [{ hostPath: "/home/dev/", containerPath: "/workspace" }];
    expect(await violationsOf("no-sensitive-host-paths", withChanges({ volumes }))).toEqual([expect.stringMatching(/home folder itself/)]);
  });

  it("refuses a credential bind into /run/agent-secrets without readOnly", async () => {
    const mounts = [{ type: "bind", source: "/srv/secrets/key", target: "/run/agent-secrets/api-key" }];
    expect(await violationsOf("credentials-read-only", withChanges({ mounts }))).toEqual([expect.stringMatching(/read-write.*readOnly: true/)]);
  });

  it.each(hardeningPolicies.map((p) => p.name))("%s passes the sandbox holding the git token where credentials-in-sandbox is acknowledged", async (name) => {
    const inputs = hardenedContainer({ credentialsInSandbox: true });
    expect(inputs.mounts).toContainEqual({ type: "volume", source: "agent-sandbox-dev-credentials", target: SECRETS_PATH, readOnly: true });
    expect(await violationsOf(name, inputs)).toEqual([]);
  });

  it("refuses the program's credentials volume when it is mounted writable, acknowledged or not", async () => {
    const inputs = hardenedContainer({ credentialsInSandbox: true });
    const mounts = (inputs.mounts as { target: string; readOnly?: boolean }[]).map((mount) =>
      mount.target === SECRETS_PATH ? { ...mount, readOnly: false } : mount,
    );
    expect(await violationsOf("credentials-read-only", { ...inputs, mounts })).toEqual([
      expect.stringMatching(/agent-sandbox-dev-credentials at \/run\/agent-secrets read-write/),
    ]);
  });

  it("refuses a read-write bind of a cloud login folder anywhere in the container", async () => {
    const volumes = [{ hostPath: "/home/dev/.aws", containerPath: "/home/agent/.aws" }];
    expect(await violationsOf("credentials-read-only", withChanges({ volumes }))).toEqual([expect.stringMatching(/\.aws/)]);
  });

  it("accepts a credential bound read-only", async () => {
    const volumes = [{ hostPath: "/home/dev/.netrc", containerPath: "/home/agent/.netrc", readOnly: true }];
    expect(await violationsOf("credentials-read-only", withChanges({ volumes }))).toEqual([]);
  });
});

describe("acknowledged unsafe settings", () => {
  const unsafe = {
    privileged: true,
    networkMode: "host",
    pidMode: "host",
    user: "0:0",
    capabilities: { drops: ["ALL"], adds: ["NET_ADMIN"] },
    mounts: [
      { type: "bind", source: "/", target: "/workspace" },
      { type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" },
    ],
  };

  it("waives exactly the acknowledged items and still refuses the others", () => {
    const violations = containerViolations(acknowledging("privileged, host-network,docker-socket", unsafe), { homeDir });
    expect(violations.map((v) => v.split(":")[0]).sort()).toEqual(["no-added-capabilities", "no-host-namespaces", "no-sensitive-host-paths", "non-root-user"]);
    expect(violations.find((v) => v.startsWith("no-host-namespaces"))).toMatch(/pidMode/);
  });

  it("passes a container whose every unsafe setting is acknowledged", () => {
    const items = "privileged,host-network,host-pid,root-user,added-capabilities,host-root-mount,docker-socket";
    expect(containerViolations(acknowledging(items, unsafe), { homeDir })).toEqual([]);
  });

  it("cannot waive a rule that has no acknowledgement, such as a missing memory limit", () => {
    const violations = containerViolations(acknowledging("memory-limit", { memory: 0 }), { homeDir });
    expect(violations).toEqual([expect.stringMatching(/^memory-limit: /)]);
  });

  it("waives the Docker socket but not its whole folder under the docker-socket label", () => {
    const volumes = [{ hostPath: "/run/", containerPath: "/host-run" }];
    const violations = containerViolations(acknowledging("docker-socket", { volumes }), { homeDir });
    expect(violations).toEqual([expect.stringMatching(/^no-sensitive-host-paths: volumes\[0\]\.source: \/run\/ is inside \/run/)]);
  });

  it("waives the home folder mount but not /etc under the same label", () => {
    const mounts = [
      { type: "bind", source: "/home/dev", target: "/workspace" },
      { type: "bind", source: "/etc", target: "/host-etc", readOnly: true },
    ];
    const violations = containerViolations(acknowledging("home-folder-mount", { mounts }), { homeDir });
    expect(violations).toEqual([expect.stringMatching(/^no-sensitive-host-paths: mounts\[1\].*\/etc/)]);
  });
});

/** The sandbox pod exactly as the Kubernetes target renders it (under gVisor): what the policies must pass. */
function hardenedPod(): Record<string, unknown> {
  const [onGvisor] = parseStackConfig(
    {
      kubernetes: { namespace: "agents" },
      image: { registry: { address: "127.0.0.1:5000" }, push: true },
      sandboxes: [{ name: "main", isolation: "gvisor" }],
    },
    { homeDir },
  ).sandboxes;
  const args = sandboxPodArgs(
    identity,
    onGvisor,
    { uid: 1000, gid: 1000 },
    {
      namespace: "agents",
      image: "127.0.0.1:5000/agent@sha256:0123",
      egressProxyAddress: "10.96.0.20",
      credentialProxyAddress: "10.96.0.21",
    },
  );
  return { apiVersion: "v1", kind: "Pod", ...JSON.parse(JSON.stringify(args)) };
}

/** The sandbox's two proxy pods as the Kubernetes target renders them. */
function proxyPods(): Record<string, unknown>[] {
  const plan = credentialProxyPlanFor(sandbox, { apiKeys: ["anthropicApiKey"], gitToken: true })!;
  const refs = { namespace: "agents", image: "127.0.0.1:5000/proxies@sha256:0456" };
  return [
    egressProxyPodArgs(identity, sandbox.name, egressPolicyFor(sandbox.egress, sandbox.agent, sandbox.auth), refs),
    credentialProxyPodArgs(identity, plan, "agent-sandbox-dev-proxy-secrets", refs),
  ].map((args) => ({ apiVersion: "v1", kind: "Pod", ...JSON.parse(JSON.stringify(args)) }));
}

/** The hardened pod with its first container's fields and the pod spec's fields changed. */
function podWith(change: { pod?: Record<string, unknown>; container?: Record<string, unknown>; metadata?: Record<string, unknown> }): Record<string, unknown> {
  const pod = hardenedPod() as { metadata: Record<string, unknown>; spec: Record<string, unknown> & { containers: Record<string, unknown>[] } };
  const [container] = pod.spec.containers;
  return {
    ...pod,
    metadata: { ...pod.metadata, ...change.metadata },
    spec: { ...pod.spec, ...change.pod, containers: [{ ...container, ...change.container }] },
  };
}

const podSecurity = (changes: Record<string, unknown>) => ({
  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, ...changes },
});

describe("the same policies on Kubernetes workloads", () => {
  const POD = "kubernetes:core/v1:Pod";

  it("pass the pods the Kubernetes target renders, the sandbox's and its proxies', under every policy", async () => {
    for (const pod of [hardenedPod(), ...proxyPods()]) {
      for (const policy of hardeningPolicies) expect(await violationsOf(policy.name, pod, POD), policy.name).toEqual([]);
    }
  });

  it.each([
    ["not-privileged", { container: podSecurity({ privileged: true }) }, /containers\[0\] \(sandbox\): privileged is true/],
    ["drop-all-capabilities", { container: podSecurity({ capabilities: {} }) }, /capabilities\.drops is \[\]/],
    ["no-added-capabilities", { container: podSecurity({ capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] } }) }, /NET_ADMIN/],
    ["no-new-privileges", { container: podSecurity({ allowPrivilegeEscalation: true }) }, /no-new-privileges/],
    ["read-only-root", { container: podSecurity({ readOnlyRootFilesystem: false }) }, /readOnlyRootFilesystem/],
    ["non-root-user", { pod: { securityContext: { runAsUser: 0, runAsGroup: 0 } } }, /user is "0:0"/],
    ["memory-limit", { container: { resources: { limits: { cpu: "2" } } } }, /memory is null/],
    ["no-host-namespaces", { pod: { hostNetwork: true } }, /networkMode is "host"/],
    ["no-host-namespaces", { pod: { hostPID: true } }, /pidMode is "host"/],
  ] as const)("%s refuses a pod edited that way (%#)", async (name, change, message) => {
    const violations = await violationsOf(name, podWith(change), POD);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(message);
  });

  it("refuses host paths and engine sockets as hostPath volumes", async () => {
    const socket = podWith({
      pod: { volumes: [{ name: "engine", hostPath: { path: "/var/run/docker.sock" } }] },
      container: { volumeMounts: [{ name: "engine", mountPath: "/var/run/docker.sock" }] },
    });
    expect(await violationsOf("no-docker-socket", socket, POD)).toEqual([expect.stringMatching(/mounts\[0\]\.source is \/var\/run\/docker\.sock/)]);
    const etc = podWith({
      pod: { volumes: [{ name: "etc", hostPath: { path: "/etc" } }] },
      container: { volumeMounts: [{ name: "etc", mountPath: "/host-etc" }] },
    });
    expect(await violationsOf("no-sensitive-host-paths", etc, POD)).toHaveLength(1);
  });

  it("refuses a Secret in the sandbox, mounted or in its environment, but not in the credential proxy", async () => {
    const mounted = podWith({
      pod: { volumes: [{ name: "keys", secret: { secretName: "api-keys" } }] },
      container: { volumeMounts: [{ name: "keys", mountPath: "/keys", readOnly: true }] },
    });
    expect(await violationsOf("credentials-outside-sandbox", mounted, POD)).toEqual([expect.stringMatching(/reads the Secret api-keys at \/keys/)]);
    const env = podWith({ container: { env: [{ name: "UPSTREAM", valueFrom: { secretKeyRef: { name: "api-keys", key: "anthropic" } } }] } });
    expect(await violationsOf("credentials-outside-sandbox", env, POD)).toEqual([expect.stringMatching(/reads the Secret api-keys in UPSTREAM/)]);
    const proxy = podWith({
      pod: { volumes: [{ name: "keys", secret: { secretName: "api-keys" } }] },
      container: { volumeMounts: [{ name: "keys", mountPath: "/keys", readOnly: true }] },
      metadata: { labels: { [ROLE_LABEL]: CREDENTIAL_PROXY_ROLE } },
    });
    expect(await violationsOf("credentials-outside-sandbox", proxy, POD)).toEqual([]);
  });

  it("waives exactly what the acknowledgement annotation names", async () => {
    const privileged = podWith({ container: podSecurity({ privileged: true }), metadata: { annotations: { [ACKNOWLEDGED_UNSAFE_LABEL]: "privileged" } } });
    expect(await violationsOf("not-privileged", privileged, POD)).toEqual([]);
    expect(await violationsOf("no-host-namespaces", { ...privileged, spec: { ...(privileged.spec as object), hostIPC: true } }, POD)).toHaveLength(1);
  });

  it("refuses a service account token the agent could use against the API server", async () => {
    expect(await violationsOf("no-service-account-token", hardenedPod(), POD)).toEqual([]);
    expect(await violationsOf("no-service-account-token", podWith({ pod: { automountServiceAccountToken: undefined } }), POD)).toEqual([
      expect.stringMatching(/automountServiceAccountToken is null/),
    ]);
  });

  it("judges a workload by its pod template, init containers included", async () => {
    const pod = podWith({ container: podSecurity({ privileged: true }) }) as { metadata: unknown; spec: Record<string, unknown> };
    const job = { spec: { template: { metadata: pod.metadata, spec: pod.spec } } };
    expect(await violationsOf("not-privileged", job, "kubernetes:batch/v1:Job")).toHaveLength(1);
    const cronJob = { spec: { jobTemplate: { spec: { template: { metadata: pod.metadata, spec: pod.spec } } } } };
    expect(await violationsOf("not-privileged", cronJob, "kubernetes:batch/v1:CronJob")).toHaveLength(1);
    const init = podWith({ pod: { initContainers: [{ name: "setup", securityContext: { privileged: true } }] } });
    expect(await violationsOf("not-privileged", init, POD)).toEqual([expect.stringMatching(/^initContainers\[0\] \(setup\): privileged/)]);
    expect(await violationsOf("not-privileged", { spec: {} }, "kubernetes:core/v1:ConfigMap")).toEqual([]);
  });

  it("asks gVisor of a pod by its RuntimeClass where the team's config requires it", async () => {
    const onRunc = podWith({ pod: { runtimeClassName: undefined } });
    const policy = hardeningPolicies.find((candidate) => candidate.name === "kernel-isolation")!;
    const messages: string[] = [];
    const args = { ...argsFor(onRunc, POD), getConfig: <T extends object>() => ({ stacks: ["dev"] }) as T };
    for (const validate of [policy.validateResource ?? []].flat()) await validate(args, (message) => messages.push(message));
    expect(messages).toEqual([expect.stringMatching(/must run its sandboxes under gVisor/)]);
    expect(await violationsOf("kernel-isolation", hardenedPod(), POD)).toEqual([]);
  });

  it("reads memory quantities as Docker's megabytes", () => {
    expect(quantityMegabytes("8Gi")).toBe(8192);
    expect(quantityMegabytes("512Mi")).toBe(512);
    expect(quantityMegabytes("1G")).toBeCloseTo(953.67, 2);
    expect(quantityMegabytes(2 ** 20)).toBe(1);
    expect(quantityMegabytes("lots")).toBeUndefined();
  });
});
