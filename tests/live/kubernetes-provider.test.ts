/**
 * Live proof that the real Pulumi CLI (a YAML program) drives the local cluster through the provider setup-pulumi.sh builds
 * (issue #25, part 3): `up` declares a Namespace and a Pod that the cluster then runs, a second preview sees
 * no changes, and `destroy` removes both from the cluster.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KUBECONFIG, KubernetesGate, kubectl } from "../../testkit/live/kubernetes";
import { KubernetesProgram } from "../../testkit/live/kubernetes-program";
import { POLICY_PACK, pulumiAvailability, REGISTRY_BASE_IMAGES } from "../../testkit/live/pulumi-cli";

const gate = new KubernetesGate();
const NAMESPACE = `asb-pulumi-${process.pid}`;

/** A Namespace and a sandbox-like pod, hardened as the policy pack asks; config `privileged` edits it to be privileged. */
const PROGRAM = {
  config: {
    kubeconfig: { type: "string" },
    namespace: { type: "string" },
    image: { type: "string" },
    privileged: { type: "boolean", default: false },
  },
  resources: {
    cluster: { type: "pulumi:providers:kubernetes", properties: { kubeconfig: "${kubeconfig}" } },
    proof_namespace: {
      type: "kubernetes:core/v1:Namespace",
      properties: { metadata: { name: "${namespace}" } },
      options: { provider: "${cluster}" },
    },
    proof: {
      type: "kubernetes:core/v1:Pod",
      properties: {
        metadata: { namespace: "${proof_namespace.metadata.name}", name: "proof" },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 0,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "main",
              image: "${image}",
              command: ["sleep", "infinity"],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, privileged: "${privileged}" },
              resources: { limits: { memory: "64Mi", cpu: "100m" } },
            },
          ],
        },
      },
      options: { provider: "${cluster}" },
    },
  },
  outputs: { phase: "${proof.status.phase}", uid: "${proof.metadata.uid}" },
};

/** Why the real CLI or the built provider is missing, or undefined when both are here. */
function cliProblem(): string | undefined {
  const cli = pulumiAvailability();
  if (!cli.available) return cli.reason;
  const missing = ["pulumi-resource-kubernetes", "pulumi-language-yaml"].filter((binary) => spawnSync("sh", ["-c", `command -v ${binary}`]).status !== 0);
  return missing.length > 0 ? `no ${missing.join(", ")} on PATH; run scripts/setup-pulumi.sh` : undefined;
}

describe("the Pulumi CLI on the local cluster", () => {
  let program: KubernetesProgram | undefined;
  let skipReason: string | undefined;

  beforeAll(async () => {
    if (!gate.ready()) return;
    skipReason = cliProblem();
    if (skipReason) {
      if (process.env.REQUIRE_PULUMI === "1") throw new Error(`REQUIRE_PULUMI=1 but ${skipReason}`);
      return;
    }
    program = await KubernetesProgram.create("cluster", PROGRAM, { kubeconfig: ADMIN_KUBECONFIG, namespace: NAMESPACE, image: REGISTRY_BASE_IMAGES.baseImage });
  }, 120_000);

  afterAll(async () => {
    await program?.remove();
    await kubectl(["delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false"], { allowFailure: true }).catch(() => undefined);
  });

  it("deploys a Namespace and a Pod the cluster runs, previews no change after, passes the policy pack (refused once privileged), and destroys both", async (context) => {
    gate.requireCluster(context);
    if (skipReason || !program) context.skip(skipReason);
    await program!.pulumi(["up", "--yes", "--skip-preview"]);
    const outputs = await program!.outputs();
    expect(outputs.phase).toBe("Running");
    const live = JSON.parse((await kubectl(["-n", NAMESPACE, "get", "pod", "proof", "-o", "json", "--show-managed-fields"])).stdout);
    expect(live.metadata.uid).toBe(outputs.uid);
    expect(live.status.phase).toBe("Running");
    // Written by the provider, not by a kubectl of the test: the API server records the field manager.
    const managers = (live.metadata.managedFields as { manager: string }[]).map((entry) => entry.manager);
    expect(managers).toContainEqual(expect.stringMatching(/^pulumi/));

    await program!.pulumi(["preview", "--expect-no-changes"]);
    // The policy pack judges the pod by the rules it judges a Docker sandbox by: it passes this one…
    await program!.pulumi(["preview", "--policy-pack", POLICY_PACK]);
    // …and refuses it edited to be privileged, before the cluster sees anything.
    await program!.pulumi(["config", "set", "privileged", "true"]);
    const refused = await program!.pulumi(["preview", "--policy-pack", POLICY_PACK], { allowFailure: true });
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/not-privileged/);
    expect(refused.stdout + refused.stderr).toMatch(/containers\[0\] \(main\): privileged is true/);
    await program!.pulumi(["config", "rm", "privileged"]);

    await program!.pulumi(["destroy", "--yes", "--skip-preview"]);
    const pod = await kubectl(["-n", NAMESPACE, "get", "pod", "proof"], { allowFailure: true });
    expect(pod.code).not.toBe(0);
    const namespace = await kubectl(["get", "namespace", NAMESPACE], { allowFailure: true });
    expect(namespace.stderr).toMatch(/NotFound/);
  }, 600_000);
});
