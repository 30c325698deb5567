import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseStackConfig } from "../../components/config/stack-schema";
import { DOCKER } from "../../components/engine/engine";
import { containerArgsFor } from "../../components/sandbox/container";
import { kernelIsolationViolations, stackOfUrn } from "../../policy/kernel-isolation";

const sandbox = (runtime?: string) => ({ image: "sha256:abc", ...(runtime ? { runtime } : {}), labels: [{ label: "dev.agent-sandbox.stack", value: "team" }] });
const proxy = { image: "sha256:def", labels: [{ label: "dev.agent-sandbox.role", value: "egress-proxy" }] };
const TEAM = { stacks: ["team", "prod-*"] };

describe("kernel-isolation", () => {
  it("reads the stack from the resource's URN", () => {
    expect(stackOfUrn("urn:pulumi:team::agent-sandbox::docker:index/container:Container::main")).toBe("team");
  });

  it("refuses a sandbox of a named stack on the engine's default runtime, naming the config and the fix", () => {
    expect(kernelIsolationViolations(sandbox(), "team", TEAM)).toEqual([
      expect.stringMatching(
        /^runtime is the engine's default \(runc: the host's kernel\), but stack "team" must run its sandboxes under gVisor .*set isolation: "gvisor"/,
      ),
    ]);
    expect(kernelIsolationViolations(sandbox("runc"), "prod-eu", TEAM)).toEqual([expect.stringMatching(/^runtime is runc, but stack "prod-eu"/)]);
  });

  it("accepts a sandbox under runsc, the proxies beside it, and every stack it does not name", () => {
    expect(kernelIsolationViolations(sandbox("runsc"), "team", TEAM)).toEqual([]);
    expect(kernelIsolationViolations(proxy, "team", TEAM)).toEqual([]);
    expect(kernelIsolationViolations(sandbox(), "alice", TEAM)).toEqual([]);
    expect(kernelIsolationViolations(sandbox(), "team", {})).toEqual([]);
  });
});

describe("the team stack and its policy config", () => {
  const root = path.resolve(__dirname, "../..");
  const teamConfig = JSON.parse(fs.readFileSync(path.join(root, "policy/team-config.json"), "utf8"))["kernel-isolation"];
  const file = parse(fs.readFileSync(path.join(root, "Pulumi.team.yaml"), "utf8")).config as Record<string, unknown>;
  const raw = Object.fromEntries(Object.entries(file).map(([key, value]) => [key.replace(/^agent-sandbox:/, ""), value]));

  it("names the team stack, and every sandbox of Pulumi.team.yaml passes kernel-isolation as the program declares it", () => {
    expect(teamConfig.stacks).toContain("team");
    const config = parseStackConfig(raw, { homeDir: "/home/ci" });
    for (const sandbox of config.sandboxes) {
      const inputs = containerArgsFor(
        { project: "agent-sandbox", stack: "team" },
        sandbox,
        { uid: 1000, gid: 1000 },
        { imageId: "sha256:x", networkName: "n", homeVolume: "h", protectedPaths: [], engine: DOCKER },
      );
      expect(kernelIsolationViolations(JSON.parse(JSON.stringify(inputs)), "team", teamConfig), sandbox.name).toEqual([]);
    }
  });
});
