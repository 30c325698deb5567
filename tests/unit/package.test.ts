/**
 * The library as another team gets it: `npm pack` ships the compiled component with its declarations,
 * the Docker build contexts and the policy pack, and nothing of the repository's own tooling; a program
 * outside this repository (examples/typescript) installs the packed tarball, type-checks against it and
 * declares hardened sandboxes with it under Pulumi's mocks.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeWorkspace } from "./support/program";

const ROOT = path.resolve(__dirname, "../..");
const INSTALL_TIMEOUT_MS = 180_000;

/** Evaluates the consumer's compiled program under mocks and prints what it declared, as JSON. */
const MOCK_RUNNER = `
const pulumi = require("@pulumi/pulumi");
const declared = [];
pulumi.runtime.setMocks({
  newResource: (args) => {
    declared.push({ type: args.type, name: args.name, inputs: args.inputs });
    return { id: args.name + "-id", state: { ...args.inputs, imageId: "sha256:" + "0".repeat(64), digest: "sha256:" + "1".repeat(64), ref: "example" } };
  },
  call: (args) => args.inputs,
}, "agent-sandbox-example", "dev");
pulumi.runtime.setAllConfig({ "agent-sandbox-example:workspace": process.env.WORKSPACE, "agent-sandbox-example:anthropicApiKey": "test-key" }, ["agent-sandbox-example:anthropicApiKey"]);
require("./bin/index.js");
require("@pulumi/pulumi/runtime/settings").waitForRPCs().then(() => console.log(JSON.stringify(declared)));
`;

interface Declared {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
}

let packed: { filename: string; files: { path: string; mode: number }[] };
let tarball: string;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-pack-"));

describe("the packed library", () => {
  beforeAll(() => {
    const output = execFileSync("npm", ["pack", "--json", "--pack-destination", scratch], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    packed = JSON.parse(output)[0];
    tarball = path.join(scratch, packed.filename);
  }, INSTALL_TIMEOUT_MS);

  it("holds the compiled component with declarations, the build contexts, the policy pack and the plugin manifest", () => {
    const files = packed.files.map((file) => file.path);
    for (const needed of [
      "dist/index.js",
      "dist/index.d.ts",
      "dist/plugin.js",
      "dist/agent-sandboxes.d.ts",
      "docker/agent/Dockerfile",
      "docker/agent/bin/agent-exec",
      "docker/proxies/Dockerfile",
      "policy/PulumiPolicy.yaml",
      "policy/rules.ts",
      "components/guardrails/host-paths.ts",
      "PulumiPlugin.yaml",
    ]) {
      expect(files, needed).toContain(needed);
    }
    const executable = packed.files.find((file) => file.path === "docker/agent/bin/agent-exec")!;
    expect(executable.mode & 0o111, "agent-exec keeps its executable bit").not.toBe(0);
    // The repository's own tooling, tests, stacks and CI stay out.
    expect(files.filter((file) => /^(tests|scripts|examples|\.ci|\.github|node_modules)\/|^Pulumi\.[^/]+\.yaml$|^index\.ts$/.test(file))).toEqual([]);
  });

  it(
    "is installed by a program of its own, type-checks, and declares hardened sandboxes under mocks",
    () => {
      const consumer = path.join(scratch, "consumer");
      fs.cpSync(path.join(ROOT, "examples/typescript"), consumer, { recursive: true });
      execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], { cwd: consumer, stdio: "ignore" });
      execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", consumer], { stdio: "pipe" });
      fs.writeFileSync(path.join(consumer, "mock-run.js"), MOCK_RUNNER);
      const workspace = makeWorkspace("agent-sandbox-consumer-ws-");
      const declared: Declared[] = JSON.parse(
        execFileSync(process.execPath, ["mock-run.js"], { cwd: consumer, encoding: "utf8", env: { ...process.env, WORKSPACE: workspace.dir } }),
      );
      const one = (type: string, name: string) => declared.find((resource) => resource.type === type && resource.name === name)!;

      expect(one("agent-sandbox:index:AgentSandboxes", "review-agents")).toBeDefined();
      const container = one("docker:index/container:Container", "review").inputs;
      expect(container.name).toBe("agent-sandbox-example-dev-review");
      expect(container).toMatchObject({ readOnly: true, user: "1000:1000", securityOpts: ["no-new-privileges:true"], capabilities: { drops: ["ALL"] } });
      expect(container.mounts.find((mount: { target: string }) => mount.target === "/workspace")).toMatchObject({ source: workspace.dir, readOnly: true });
      // The build context is the installed package's own copy, whatever the program's working directory.
      const context = one("docker-build:index:Image", "agent").inputs.context.location;
      expect(path.resolve(consumer, context)).toBe(path.join(fs.realpathSync(consumer), "node_modules/agent-sandbox/docker/agent"));
      expect(fs.existsSync(path.join(consumer, context, "Dockerfile"))).toBe(true);
    },
    INSTALL_TIMEOUT_MS,
  );
});
