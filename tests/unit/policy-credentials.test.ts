import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config/stack-schema";
import { credentialProxyContainerArgs } from "../../components/credentials/credential-proxy";
import { credentialProxyPlanFor } from "../../components/credentials/plan";
import { engineClient } from "../../components/engine/client";
import { containerArgsFor } from "../../components/sandbox/container";
import { CONTAINER_RULES, containerViolations, ruleViolations } from "../../policy/rules";

const homeDir = "/home/dev";
const identity = { project: "agent-sandbox", stack: "dev" };
const rule = CONTAINER_RULES.find((candidate) => candidate.name === "credentials-outside-sandbox")!;

function sandboxContainer(extra: Record<string, unknown> = {}, credentialsVolume?: string): Record<string, unknown> {
  const [sandbox] = parseStackConfig({ sandboxes: [{ name: "main", workspace: "/home/dev/components/app", ...extra }] }, { homeDir }).sandboxes;
  const args = containerArgsFor(
    identity,
    sandbox,
    { uid: 1000, gid: 1000 },
    { imageId: "sha256:agent", networkName: "net", homeVolume: "home", protectedPaths: [], credentialsVolume, engine: engineClient() },
  );
  return JSON.parse(JSON.stringify(args));
}

const violations = (inputs: Record<string, unknown>) => ruleViolations(rule, inputs, { homeDir });

describe("policy: credentials stay outside the sandbox", () => {
  it("passes the program's sandbox, whose only key-looking variable is the credential proxy's placeholder", () => {
    const inputs = sandboxContainer();
    expect((inputs.envs as string[]).some((entry) => entry.startsWith("ANTHROPIC_API_KEY="))).toBe(true);
    expect(containerViolations(inputs, { homeDir })).toEqual([]);
  });

  it("passes the credential proxy, which mounts the proxy secrets by design", () => {
    const [sandbox] = parseStackConfig({ workspace: "/home/dev/components/app" }, { homeDir }).sandboxes;
    const plan = credentialProxyPlanFor(sandbox, { apiKeys: ["anthropicApiKey"], gitToken: false })!;
    const inputs = JSON.parse(
      JSON.stringify(
        credentialProxyContainerArgs({
          identity,
          plan,
          outboundGateway: () => "10.0.0.1",
          sandboxNetwork: "net",
          imageId: "sha256:proxy",
          secretsVolume: "agent-sandbox-dev-proxy-secrets",
          engine: engineClient(),
        }),
      ),
    );
    expect(containerViolations(inputs, { homeDir })).toEqual([]);
  });

  it("refuses a sandbox that mounts the credentials volume, unless its config acknowledged credentials-in-sandbox", () => {
    const mounted = sandboxContainer({}, "agent-sandbox-dev-credentials");
    expect(violations(mounted)).toEqual([
      expect.stringMatching(/mounts\[\d\] mounts agent-sandbox-dev-credentials at \/run\/agent-secrets.*credentials-in-sandbox/),
    ]);
    const acknowledged = sandboxContainer({ acknowledgeUnsafe: ["credentials-in-sandbox"] }, "agent-sandbox-dev-credentials");
    expect(violations(acknowledged)).toEqual([]);
  });

  it("refuses a sandbox pretending to be the credential proxy to mount the proxy secrets", () => {
    const inputs = sandboxContainer();
    const labels = [...(inputs.labels as object[]), { label: "dev.agent-sandbox.role", value: "credential-proxy" }];
    const mounts = [
      ...(inputs.mounts as object[]),
      { type: "volume", source: "agent-sandbox-dev-proxy-secrets", target: "/run/credential-proxy", readOnly: true },
    ];
    expect(violations({ ...inputs, labels, mounts })).toEqual([expect.stringContaining("agent-sandbox-dev-proxy-secrets at /run/credential-proxy")]);
  });

  it("refuses key-looking variables by name, and keys by their format whatever the name", () => {
    const inputs = sandboxContainer();
    const envs = [
      ...(inputs.envs as string[]),
      "ANTHROPIC_API_KEY=sk-ant-api03-abc",
      "HELPER=ghp_abcdefghijklmnopqrstuvwxyz0123",
      "NODE_ENV=production",
      "EMPTY_TOKEN=",
    ];
    const found = violations({ ...inputs, envs });
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/envs\[\d+\] sets ANTHROPIC_API_KEY to what looks like a key or token/);
    expect(found[1]).toMatch(/envs\[\d+\] sets HELPER/);
  });
});
