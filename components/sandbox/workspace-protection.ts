/**
 * Which workspace paths a sandbox mounts read-only over its read-write workspace bind: the default
 * protected paths, minus `unprotect`, plus `protectedPaths`; none in `ro` mode (all of it is read-only)
 * or with `protectWorkspace: false` (acknowledged as unprotected-workspace).
 */
import type * as docker from "@pulumi/docker";
import { DEFAULT_PROTECTED_PATHS, UNPROTECTED_PATHS_LABEL } from "../guardrails/protected-paths";
import type { SandboxConfig } from "./config";
import { WORKSPACE_PATH } from "./contract";

type Protection = Pick<SandboxConfig, "mode" | "protectWorkspace" | "protectedPaths" | "unprotect">;

/** The paths to protect, before the host says which exist. */
export function protectionFor(sandbox: Protection): string[] {
  if (sandbox.mode !== "rw" || !sandbox.protectWorkspace) return [];
  const defaults = DEFAULT_PROTECTED_PATHS.filter((relative) => !sandbox.unprotect.includes(relative));
  return [...new Set([...defaults, ...sandbox.protectedPaths])].sort();
}

/**
 * Read-only binds of the existing protected paths, each over its own place in the workspace, and each
 * folder above one bound to itself (writable as before): a mount point cannot be renamed or removed, so
 * the agent cannot move `.git` aside and plant a fresh one with hooks of its choosing.
 */
export function protectedMounts(workspace: string, existing: readonly string[]): docker.types.input.ContainerMount[] {
  const bind = (relative: string, readOnly: boolean): docker.types.input.ContainerMount => ({
    type: "bind",
    source: `${workspace}/${relative}`,
    target: `${WORKSPACE_PATH}/${relative}`,
    readOnly,
  });
  const pinned = new Set(
    existing.flatMap((relative) =>
      relative
        .split("/")
        .slice(0, -1)
        .map((_, index, parts) => parts.slice(0, index + 1).join("/")),
    ),
  );
  const folders = [...pinned].filter((folder) => !existing.includes(folder)).sort();
  return [...folders.map((folder) => bind(folder, false)), ...[...existing].sort().map((relative) => bind(relative, true))];
}

/** For the policy pack: the default paths this sandbox's config unprotected (it waives exactly those). */
export function unprotectedLabel(sandbox: Protection): Record<string, string> {
  const unprotected = sandbox.mode === "rw" && sandbox.protectWorkspace ? [...new Set(sandbox.unprotect)].sort() : [];
  return unprotected.length > 0 ? { [UNPROTECTED_PATHS_LABEL]: unprotected.join(",") } : {};
}
