/**
 * The risky-change report of a run: which files of the classes that the developer's machine may run later
 * (git hooks and config, editor tasks, CI workflows, agent settings, .envrc, package scripts, a Makefile)
 * the run created, changed or removed in the workspace, so a reviewer looks there first. A manifest of
 * those files is taken in the sandbox before the run and compared after it (the sandbox shares the
 * workspace with an ephemeral run's container, so both are read there).
 */

import { shellWords } from "../engine/shell";
import { DEFAULT_PROTECTED_PATHS } from "../guardrails/protected-paths";
import type { SandboxExec } from "../sandbox/exec";

/** The protected paths, plus what agents may edit as ordinary work but can hide a command in. */
export const RISKY_PATHS: readonly string[] = [...DEFAULT_PROTECTED_PATHS, "package.json", "Makefile"];

/**
 * Shell that prints `<sha256>  <path>` of every file at or under the risky paths, sorted, read as the agent
 * user in the sandbox named by CONTAINER (AGENT_USER); a path that does not exist prints nothing.
 */
export function manifestScript(exec: SandboxExec): string {
  const list = `for p in ${shellWords(RISKY_PATHS)}; do if [ -e "$p" ]; then find "$p" -type f -exec sha256sum {} +; fi; done 2>/dev/null | LC_ALL=C sort`;
  return `set -eu
${exec.line(`sh -c ${shellWords([list])}`)}
`;
}

/** Shell that prints, one per line, the paths whose line differs between BASELINE and a manifest taken now. */
export function reportScript(exec: SandboxExec): string {
  return `set -eu
now=$(mktemp) before=$(mktemp)
trap 'rm -f "$now" "$before"' EXIT
printf '%s\\n' "\${BASELINE:-}" | sed '/^$/d' > "$before"
${manifestScript(exec).replace("set -eu\n", "").trimEnd()} > "$now"
LC_ALL=C comm -3 "$before" "$now" | sed 's/^\\t//' | cut -c67- | LC_ALL=C sort -u
`;
}

/** The report's lines as paths. */
export function changedPaths(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}
