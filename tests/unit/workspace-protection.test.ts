/**
 * Protected workspace paths: which a read-write sandbox mounts read-only (the ones that exist, inside
 * the workspace), how config changes the list, and the policy rule that refuses a read-write workspace
 * leaving one of them writable.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config/stack-schema";
import { DEFAULT_PROTECTED_PATHS, existingProtectedPaths, UNPROTECTED_PATHS_LABEL } from "../../components/guardrails/protected-paths";
import { protectionFor } from "../../components/sandbox/workspace-protection";
import { ConfigError } from "../../components/values/config-error";
import { containerViolations } from "../../policy/rules";
import { evaluateProgram, makeWorkspace } from "./support/program";

const host = { homeDir: "/home/me" };
const sandboxWith = (extra: Record<string, unknown>) =>
  parseStackConfig({ sandboxes: [{ name: "main", workspace: "/home/me/app", ...extra }] }, host).sandboxes[0];
const realView = { exists: (hostPath: string) => fs.existsSync(hostPath), realPath: (hostPath: string) => fs.realpathSync(hostPath) };

function problemsOf(extra: Record<string, unknown>): string[] {
  try {
    sandboxWith(extra);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

/** A workspace holding a git repository's hooks and config, an .envrc, an editor task and a link leading out. */
function repositoryWorkspace(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-protect-"));
  fs.mkdirSync(path.join(dir, ".git/hooks"), { recursive: true });
  fs.writeFileSync(path.join(dir, ".git/config"), "[core]\n");
  fs.writeFileSync(path.join(dir, ".envrc"), "export A=1\n");
  fs.mkdirSync(path.join(dir, ".vscode"));
  fs.writeFileSync(path.join(dir, ".vscode/tasks.json"), "{}\n");
  fs.symlinkSync("/etc/hostname", path.join(dir, ".mcp.json"));
  return dir;
}

describe("which workspace paths are protected", () => {
  it("are the defaults in rw mode, minus unprotect, plus protectedPaths", () => {
    expect(protectionFor(sandboxWith({}))).toEqual([...DEFAULT_PROTECTED_PATHS].sort());
    const changed = protectionFor(sandboxWith({ unprotect: [".vscode/settings.json"], protectedPaths: ["scripts/deploy.sh", "Makefile/"] }));
    expect(changed).toContain("scripts/deploy.sh");
    expect(changed).toContain("Makefile");
    expect(changed).not.toContain(".vscode/settings.json");
  });

  it("are none in ro mode, where the whole workspace is read-only, or with protection acknowledged off", () => {
    expect(protectionFor(sandboxWith({ mode: "ro" }))).toEqual([]);
    expect(protectionFor(sandboxWith({ protectWorkspace: false, acknowledgeUnsafe: ["unprotected-workspace"] }))).toEqual([]);
  });

  it("are only those that exist and stay inside the workspace once links are followed", () => {
    const workspace = repositoryWorkspace();
    expect(existingProtectedPaths(workspace, DEFAULT_PROTECTED_PATHS, realView).sort()).toEqual([".envrc", ".git/config", ".git/hooks", ".vscode/tasks.json"]);
  });
});

describe("protection in the stack config", () => {
  it("refuses turning it off in rw mode without the acknowledgement, a path outside the workspace, and an unprotect that names no default", () => {
    expect(problemsOf({ protectWorkspace: false })).toEqual([
      'sandboxes[0].protectWorkspace: refused because without its protected paths a read-write workspace lets the agent plant git hooks, git config and editor tasks that your own machine runs later; if you accept that, add "unprotected-workspace" to acknowledgeUnsafe of this sandbox',
    ]);
    expect(problemsOf({ protectedPaths: ["../outside", "/etc/passwd"] })).toEqual([
      'sandboxes[0].protectedPaths[0]: "../outside" is not a path inside the workspace; write it relative to the workspace, e.g. ".git/hooks"',
      'sandboxes[0].protectedPaths[1]: "/etc/passwd" is not a path inside the workspace; write it relative to the workspace, e.g. ".git/hooks"',
    ]);
    expect(problemsOf({ unprotect: ["package.json"] })).toEqual([
      `sandboxes[0].unprotect[0]: "package.json" is not one of the protected paths (${DEFAULT_PROTECTED_PATHS.join(", ")}); remove it`,
    ]);
    expect(problemsOf({ mode: "ro", protectWorkspace: false })).toEqual([]);
  });
});

describe("the sandbox container of a repository workspace", () => {
  it("mounts each existing protected path read-only over the workspace, pins its folders, and mounts nothing for the missing ones", async () => {
    const workspace = makeWorkspace();
    for (const folder of [".git/hooks", ".github/workflows"]) fs.mkdirSync(path.join(workspace.dir, folder), { recursive: true });
    fs.writeFileSync(path.join(workspace.dir, ".git/config"), "[core]\n");
    const evaluation = await evaluateProgram({ config: { workspace: workspace.dir, image: { agentUid: workspace.uid, agentGid: workspace.gid } } });
    const mounts = evaluation.one("docker:index/container:Container", "main").inputs.mounts as { source: string; target: string; readOnly?: boolean }[];
    const overWorkspace = mounts.filter((mount) => mount.target.startsWith("/workspace/"));
    expect(overWorkspace).toEqual([
      // Their folders pinned as mount points, so they cannot be moved aside and replaced.
      { type: "bind", source: `${workspace.dir}/.git`, target: "/workspace/.git", readOnly: false },
      { type: "bind", source: `${workspace.dir}/.github`, target: "/workspace/.github", readOnly: false },
      { type: "bind", source: `${workspace.dir}/.git/config`, target: "/workspace/.git/config", readOnly: true },
      { type: "bind", source: `${workspace.dir}/.git/hooks`, target: "/workspace/.git/hooks", readOnly: true },
      { type: "bind", source: `${workspace.dir}/.github/workflows`, target: "/workspace/.github/workflows", readOnly: true },
    ]);
  });
});

describe("the workspace-protected policy", () => {
  const workspace = repositoryWorkspace();
  const container = (extra: Record<string, unknown> = {}) => ({
    capabilities: { drops: ["ALL"] },
    securityOpts: ["no-new-privileges:true"],
    memory: 512,
    user: "1000:1000",
    mounts: [{ type: "bind", source: workspace, target: "/workspace", readOnly: false }],
    ...extra,
  });
  const protectedViolations = (inputs: Record<string, unknown>) =>
    containerViolations(inputs, { homeDir: "/home/me", workspace: realView }).filter((violation) => violation.startsWith("workspace-protected"));
  const readOnlyOver = (relative: string) => ({ type: "bind", source: `${workspace}/${relative}`, target: `/workspace/${relative}`, readOnly: true });

  it("refuses each existing protected path left writable, naming it and the fix", () => {
    const violations = protectedViolations(container());
    expect(violations).toHaveLength(4);
    expect(violations[0]).toContain(`.git/hooks exists in the read-write workspace ${workspace} but is not mounted read-only at /workspace/.git/hooks`);
  });

  it("accepts the paths mounted read-only, those the config unprotected, and an acknowledged workspace", () => {
    const all = [".envrc", ".git/config", ".git/hooks", ".vscode/tasks.json"];
    expect(protectedViolations(container({ mounts: [container().mounts[0], ...all.map(readOnlyOver)] }))).toEqual([]);
    const unprotected = container({
      mounts: [container().mounts[0], ...all.slice(0, 3).map(readOnlyOver)],
      labels: [{ label: UNPROTECTED_PATHS_LABEL, value: ".vscode/tasks.json" }],
    });
    expect(protectedViolations(unprotected)).toEqual([]);
    expect(protectedViolations(container({ labels: [{ label: "dev.agent-sandbox.acknowledged-unsafe", value: "unprotected-workspace" }] }))).toEqual([]);
  });
});
