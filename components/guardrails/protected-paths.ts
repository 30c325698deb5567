/**
 * Workspace paths an agent could plant code in that the developer's own machine runs later (git hooks and
 * config, editor tasks, dev containers, CI workflows, agent settings). A read-write sandbox gets the ones
 * that exist mounted read-only over its workspace; the policy pack refuses a container whose read-write
 * workspace leaves one of them writable, unless the config unprotected it (the label below) or
 * acknowledged `unprotected-workspace`. Shared by the program and the policy pack, like host-paths.ts.
 */
import * as path from "node:path";
import { AGENT_PROFILES } from "../agents";

/**
 * Left out on purpose: package.json and Makefile, which agents edit as ordinary work (a risky edit there
 * is content, which a read-only mount cannot judge); docs/keys-and-workspace.md says so. Every agent's
 * settings are protected in every sandbox, whichever agent it runs: the developer may run any of them on
 * the workspace later.
 */
export const DEFAULT_PROTECTED_PATHS: readonly string[] = [
  ".git/hooks",
  ".git/config",
  ".gitmodules",
  ".envrc",
  ".vscode/tasks.json",
  ".vscode/settings.json",
  ".devcontainer",
  ".github/workflows",
  ...Object.values(AGENT_PROFILES).flatMap((agent) => agent.protectedPaths),
];

/** The container label naming the default paths a sandbox's config unprotected, e.g. `.vscode/settings.json`. */
export const UNPROTECTED_PATHS_LABEL = "dev.agent-sandbox.unprotected-paths";

/** `.git/hooks/` → `.git/hooks`; undefined for what is not a path strictly inside the workspace. */
export function workspaceRelativePath(text: string): string | undefined {
  if (text === "" || path.posix.isAbsolute(text)) return undefined;
  const normalized = path.posix.normalize(text).replace(/\/$/, "");
  if (normalized === "." || normalized === ".." || normalized.startsWith("../")) return undefined;
  return normalized;
}

/** How the check sees the host's filesystem. */
export interface WorkspaceView {
  exists(hostPath: string): boolean;
  /** Where a path leads once symlinks are followed. */
  realPath(hostPath: string): string;
}

/**
 * The paths, of those given, that exist in the workspace and stay inside it once links are followed:
 * only those can be mounted (Docker would otherwise create a mount point in the host workspace), and a
 * link leading out of the workspace must not become a mount of what it points at.
 */
export function existingProtectedPaths(workspace: string, paths: readonly string[], view: WorkspaceView): string[] {
  const root = view.realPath(workspace);
  return [...new Set(paths)].filter((relative) => {
    const hostPath = path.posix.join(workspace, relative);
    if (!view.exists(hostPath)) return false;
    const real = view.realPath(hostPath);
    return real.startsWith(`${root}/`);
  });
}
