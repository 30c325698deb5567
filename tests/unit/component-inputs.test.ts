/**
 * The component used from another program, where arguments can be outputs of other resources: a run's
 * prompt and triggers may be (they reach only that run), anything that decides which resources exist may
 * not, and is refused before any resource is declared.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";

// The SDK's own "wait until every registration has finished".
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

import type { AgentSandboxesArgs } from "../../components/config/args";
import { evaluateProgram, makeWorkspace, type RecordedResource } from "../../testkit/mock-program";

/** Evaluates a program that declares a volume (whose name output feeds the arguments) and the component. */
function evaluateWith(argsFrom: (notes: pulumi.Output<string>) => AgentSandboxesArgs) {
  return evaluateProgram(
    { config: {} },
    () => vi.resetModules(),
    async () => {
      const { AgentSandboxes } = await import("../../components/agent-sandboxes");
      const notes = new docker.Volume("notes", { name: "release-notes-v7" });
      const agents = new AgentSandboxes("agents", argsFrom(notes.name));
      return { runs: agents.runs };
    },
  );
}

describe("the component's arguments from other resources", () => {
  it("takes a run's prompt and triggers from another resource's outputs", async () => {
    const workspace = makeWorkspace();
    const evaluation = await evaluateWith((notes) => ({
      workspace: workspace.dir,
      image: { agentUid: workspace.uid, agentGid: workspace.gid },
      runs: [{ name: "summary", sandbox: "main", prompt: pulumi.interpolate`Summarise ${notes}.`, triggers: [notes, "fixed"] }],
      anthropicApiKey: pulumi.secret("test-api-key-0000-not-a-real-key"),
    }));
    const run = evaluation.one("command:local:Command", "run-summary");
    expect(run.inputs.stdin).toBe("Summarise release-notes-v7.");
    expect(run.inputs.triggers).toEqual(["release-notes-v7", "fixed"]);
    expect(run.options.dependsOn).toContain("main-start");
  });

  it("refuses an output where the value decides which resources exist, naming the key, before declaring any", async () => {
    const workspace = makeWorkspace();
    let declared: RecordedResource[] = [];
    const refused = await evaluateProgram(
      { config: {}, onResources: (resources) => (declared = resources) },
      () => vi.resetModules(),
      async () => {
        const { AgentSandboxes } = await import("../../components/agent-sandboxes");
        const notes = new docker.Volume("notes", { name: "release-notes-v7" });
        new AgentSandboxes("agents", { sandboxes: [{ name: "main", workspace: notes.name as unknown as string }], image: { agentUid: workspace.uid } });
        return {};
      },
    ).catch((error: Error) => error);
    expect(String(refused)).toContain(
      "sandboxes[0].workspace: is an output of another resource, but it decides which resources are declared and is checked before any is; pass a plain value",
    );
    await waitForRPCs();
    expect(declared.map((resource) => resource.type)).toEqual(["docker:index/volume:Volume"]);
  });
});
