/**
 * Clone mode under mocks: the sandbox works in a volume holding its own clone, the host repository is
 * mounted read-only beside it, runs wait for the clone, and the sandbox's outputs carry the command that
 * brings the agent's branches back.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config/stack-schema";
import { bringBackRefspec, cloneScript } from "../../components/sandbox/clone";
import { ConfigError } from "../../components/values/config-error";
import { evaluateProgram, makeWorkspace } from "./support/program";

function repository() {
  const workspace = makeWorkspace("agent-sandbox-clone-");
  execFileSync("git", ["init", "-q", workspace.dir]);
  return workspace;
}

describe("a sandbox in clone mode", () => {
  it("mounts its clone volume at /workspace and the host repository read-only, and runs wait for the clone", async () => {
    const workspace = repository();
    const evaluation = await evaluateProgram({
      config: {
        sandboxes: [{ name: "main", workspace: workspace.dir, mode: "clone", cloneCopy: [".env"] }],
        image: { agentUid: workspace.uid, agentGid: workspace.gid },
        runs: [{ name: "fix", sandbox: "main", prompt: "p" }],
      },
      secrets: { anthropicApiKey: "test-api-key-0000-not-a-real-key" },
    });
    const mounts = evaluation.one("docker:index/container:Container", "main").inputs.mounts as {
      type: string;
      source: string;
      target: string;
      readOnly?: boolean;
    }[];
    expect(mounts.filter((mount) => mount.target === "/workspace" || mount.target === "/host-repository")).toEqual([
      { type: "volume", source: "agent-sandbox-dev-main-clone", target: "/workspace" },
      { type: "bind", source: workspace.dir, target: "/host-repository", readOnly: true },
    ]);
    expect(evaluation.one("docker:index/volume:Volume", "main-clone").inputs.name).toBe("agent-sandbox-dev-main-clone");
    const clone = evaluation.one("command:local:Command", "main-clone");
    expect(clone.options.dependsOn).toContain("main-start");
    expect(clone.inputs.create).toContain('git -c "safe.directory=*" clone --quiet --no-hardlinks /host-repository /workspace');
    expect(evaluation.one("command:local:Command", "run-fix").options.dependsOn).toContain("main-clone");
    const outputs = evaluation.outputs.sandboxOutputs as Record<string, { bringBack?: string }>;
    expect(outputs.main.bringBack).toContain(`git -C '${workspace.dir}' -c core.hooksPath=/dev/null fetch --quiet "$f" '${bringBackRefspec("main")}'`);
  });

  it("has no bringBack and no clone in the other modes", async () => {
    const workspace = repository();
    const evaluation = await evaluateProgram({ config: { workspace: workspace.dir, image: { agentUid: workspace.uid, agentGid: workspace.gid } } });
    expect(evaluation.ofType("command:local:Command").map((command) => command.name)).not.toContain("main-clone");
    expect((evaluation.outputs.sandboxOutputs as Record<string, { bringBack?: string }>).main.bringBack).toBeUndefined();
  });

  it("copies only the listed untracked files, each quoted", () => {
    expect(cloneScript([".env", "it's/odd"])).toContain(`cp -a '/host-repository/it'\\''s/odd' '/workspace/it'\\''s/odd'`);
  });

  it("is refused on a folder that is not a git repository, and cloneCopy is refused outside clone mode", async () => {
    const plain = makeWorkspace();
    await expect(
      evaluateProgram({ config: { sandboxes: [{ name: "main", workspace: plain.dir, mode: "clone" }], image: { agentUid: plain.uid, agentGid: plain.gid } } }),
    ).rejects.toThrow(`sandboxes[0].workspace: "${plain.dir}" is not a git repository, which clone mode clones; run git init there or use mode: rw`);
    expect(() => parseStackConfig({ sandboxes: [{ name: "main", workspace: "/home/me/app", cloneCopy: [".env"] }] }, { homeDir: "/home/me" })).toThrow(
      ConfigError,
    );
    expect(fs.existsSync(path.join(plain.dir, ".git"))).toBe(false);
  });
});
