/**
 * Another language consumes the component: a Pulumi YAML program runs `pulumi package add` on the packed
 * library (which hosts AgentSandboxes with its inferred schema) and provisions a healthy, hardened sandbox
 * with the real CLI and providers; the API key, passed as a secret config value, stays encrypted.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeyFile, PLACEHOLDER_KEY } from "../../components/credentials/proxy-contract";
import { physicalName, sandboxObjectNames } from "../../components/engine/naming";
import { PROXY_USER } from "../../components/image/proxy-image";
import { execIn, waitHealthy } from "../../testkit/live/engine";
import { liveEnginePids } from "../../testkit/live/isolation";
import { agentWorkspace, type HostService, sandboxEntry, startHostService } from "../../testkit/live/live-program";
import { ConsumerProject, packedLibrary } from "../../testkit/live/package-consumer";
import { PulumiGate, REGISTRY_BASE_IMAGES } from "../../testkit/live/pulumi-cli";

const PROJECT = "agent-sandbox-yaml";
const STACK = `yaml-${process.pid}`;
const API_KEY = `test-key-yaml-${process.pid}`;

const gate = new PulumiGate();
let probe: HostService;
let workspace: string;
let consumer: ConsumerProject | undefined;

describe("a Pulumi YAML program using the component (live)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    probe = await startHostService("probe-ok\n");
    workspace = agentWorkspace("agent-sandbox-yaml-ws-");
    consumer = await ConsumerProject.create(STACK, {
      name: PROJECT,
      runtime: "yaml",
      config: { apiKey: { type: "string", secret: true } },
      resources: {
        agents: {
          type: "agent-sandbox:index:AgentSandboxes",
          properties: {
            image: REGISTRY_BASE_IMAGES,
            sandboxes: [sandboxEntry({ name: "main", workspace, probe })],
            anthropicApiKey: "${apiKey}",
          },
        },
      },
      outputs: { sandboxes: "${agents.sandboxes}", image: "${agents.agentImage}" },
    });
  });

  afterAll(async () => {
    await consumer?.remove();
    await probe?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("adds the packed package, provisions a healthy hardened sandbox, and keeps the key encrypted", async (context) => {
    gate.requireCli(context);
    const project = consumer!;
    await project.installProviderPlugins();
    const library = packedLibrary(project.root);
    await project.pulumi(["package", "add", library]);
    expect(fs.readFileSync(path.join(project.programDir, "Pulumi.yaml"), "utf8")).toContain("agent-sandbox:");
    await project.pulumi(["config", "set", "--secret", "apiKey"], { input: `${API_KEY}\n` });

    await project.pulumi(["up", "--yes", "--skip-preview"]);
    const container = physicalName({ project: PROJECT, stack: STACK }, "main");
    // Ready by its own check at once; the engine's scheduled check turns it healthy an interval later.
    const sandbox = await waitHealthy(container);
    expect(sandbox.State.Health?.Status).toBe("healthy");
    expect(sandbox.Config.User).toBe("1000:1000");
    expect(sandbox.HostConfig).toMatchObject({
      ReadonlyRootfs: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      PidsLimit: liveEnginePids(1024),
    });

    // The key reached the credential proxy's secrets, readable by the proxy user there, and not the sandbox.
    const credentialProxy = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main").credentialProxy;
    expect((await execIn(credentialProxy, `cat ${apiKeyFile("anthropic")}`, { user: PROXY_USER })).output.trim()).toBe(
      `proxy_set_header x-api-key "${API_KEY}";`,
    );
    expect(sandbox.Config.Env).toContain(`ANTHROPIC_API_KEY=${PLACEHOLDER_KEY}`);
    expect(JSON.stringify(sandbox)).not.toContain(API_KEY);
    expect((await execIn(container, "ls -A /run/agent-secrets")).output.trim()).toBe("");

    const outputs = await project.outputs();
    expect(outputs.sandboxes.main.container).toBe(container);
    expect(outputs.image.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const state = await project.stateText();
    expect(state).toContain("agent-sandbox:index:AgentSandboxes");
    expect(state).not.toContain(API_KEY);

    const again = await project.pulumi(["preview", "--expect-no-changes"], { allowFailure: true });
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
  });
});
