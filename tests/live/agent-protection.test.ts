/**
 * The real Claude Code CLI, scripted by the stand-in Messages API, tries to plant a git hook, set
 * core.fsmonitor and edit a VS Code task: in rw mode the protected paths refuse it (the tool result the
 * API receives says so) and the host repository keeps its hook list, config and task; in clone mode the
 * same commands succeed inside the clone and the host repository stays byte-identical.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeMessagesApi, startFakeMessagesApi } from "../../testkit/live/fake-messages-api";
import { type HostService, liveConfig, sandboxEntry, startHostService, testTls } from "../../testkit/live/live-program";
import { PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";
import { agentRepository, treeHash } from "../../testkit/live/workspace-files";

const STACK = `agent-protect-${process.pid}`;
/** Written by the agent's Write tool, then run as one Bash command its permissions allow. */
const PLANT = [
  "cd /workspace",
  "printf '#!/bin/sh\\necho pwned\\n' > .git/hooks/post-checkout",
  "git config core.fsmonitor 'echo pwned'",
  `echo '{"tasks": ["pwned"]}' > .vscode/tasks.json`,
  "echo planted",
].join("\n");
const SCRIPT = [
  { kind: "tool_use", name: "Write", input: { file_path: "/workspace/plant.sh", content: `${PLANT}\n` }, text: "Writing the script." },
  { kind: "tool_use", name: "Bash", input: { command: "sh plant.sh", description: "plant" }, text: "Running it." },
  { kind: "text", text: "Done." },
] as const;

const gate = new PulumiGate();
let probe: HostService;
const apis: Record<"guarded" | "cloned", FakeMessagesApi | undefined> = { guarded: undefined, cloned: undefined };
const repositories: Record<"guarded" | "cloned", string> = { guarded: "", cloned: "" };
let stack: RealStack | undefined;

/** What the CLI sent back as the Bash tool's result. */
function toolResult(api: FakeMessagesApi): string {
  const texts = api.requests.flatMap((request) => {
    const messages = (request.body as { messages?: { content?: unknown }[] }).messages ?? [];
    return messages.flatMap((message) => (Array.isArray(message.content) ? message.content : []).filter((block) => block.type === "tool_result"));
  });
  return JSON.stringify(texts);
}

describe("the real agent against protected paths and clone mode (live)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    probe = await startHostService("probe-ok\n");
    for (const name of ["guarded", "cloned"] as const) {
      apis[name] = await startFakeMessagesApi({ host: "0.0.0.0", port: 0, tls: testTls(), script: SCRIPT });
      repositories[name] = agentRepository(`agent-sandbox-${name}-`, { ".vscode/tasks.json": '{"tasks": []}\n' });
    }
    const sandbox = (name: "guarded" | "cloned", mode: string) =>
      sandboxEntry({
        name,
        workspace: repositories[name],
        probe,
        apiPort: apis[name]!.port,
        extra: { mode },
      });
    stack = await RealStack.create(STACK);
    stack.setConfig(
      liveConfig({
        image: REGISTRY_BASE_IMAGES,
        sandboxes: [sandbox("guarded", "rw"), sandbox("cloned", "clone")],
        runs: ["guarded", "cloned"].map((name) => ({
          name,
          sandbox: name,
          prompt: "Plant the files.",
          maxTurns: 4,
          allowedTools: ["Write", "Bash(sh plant.sh)"],
        })),
      }),
    );
    await stack.setSecret("anthropicApiKey", "test-key-agent-protect");
  });

  afterAll(async () => {
    await stack?.remove();
    await Promise.all([probe?.close(), apis.guarded?.close(), apis.cloned?.close()]);
    for (const dir of Object.values(repositories)) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses the agent's plants in rw mode, keeps them in the clone in clone mode, and leaves both host repositories as they were", async (context) => {
    gate.requireCli(context);
    const before = {
      guarded: treeHash(path.join(repositories.guarded, ".git/hooks")),
      config: fs.readFileSync(path.join(repositories.guarded, ".git/config"), "utf8"),
      cloned: treeHash(repositories.cloned),
    };
    await stack!.pulumi(["up", "--yes", "--skip-preview"]);
    const runs = (await stack!.outputs()).runOutputs;
    expect(runs.guarded, JSON.stringify(runs)).toMatchObject({ success: true, result: "Done." });
    expect(runs.cloned, JSON.stringify(runs)).toMatchObject({ success: true, result: "Done." });

    expect(toolResult(apis.guarded!)).toMatch(/Read-only file system|Device or resource busy/);
    expect(treeHash(path.join(repositories.guarded, ".git/hooks"))).toBe(before.guarded);
    expect(fs.readFileSync(path.join(repositories.guarded, ".git/config"), "utf8")).toBe(before.config);
    expect(fs.readFileSync(path.join(repositories.guarded, ".vscode/tasks.json"), "utf8")).toBe('{"tasks": []}\n');

    expect(toolResult(apis.cloned!)).toContain("planted");
    expect(toolResult(apis.cloned!)).not.toMatch(/Read-only file system|Device or resource busy/);
    expect(treeHash(repositories.cloned)).toBe(before.cloned);
    // The risky-change report: nothing got through in rw mode; in the clone, all three plants, for review.
    expect(runs.guarded.riskyChanges).toEqual([]);
    expect(runs.cloned.riskyChanges).toEqual([".git/config", ".git/hooks/post-checkout", ".vscode/tasks.json"]);
    expect(fs.existsSync(path.join(repositories.cloned, "plant.sh"))).toBe(false);
  });
});
