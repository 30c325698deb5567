/** The one error a bad configuration raises: every problem found, each as `key.path: what is wrong (a right value)`. */
import type { z } from "zod";

/** Every configuration problem found, printed together so a developer fixes them in one pass. */
export class ConfigError extends Error {
  declare readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      `agent-sandbox: invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((problem) => `  - ${problem}`).join("\n")}`,
    );
    this.name = "ConfigError";
    // Not enumerable: Node prints an uncaught error's own enumerable fields after its message, and the
    // Pulumi CLI would show every problem twice.
    Object.defineProperty(this, "problems", { value: problems, enumerable: false });
  }
}

/** ["sandboxes", 0, "resources", "memory"] → "sandboxes[0].resources.memory" */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === "number") return `${text}[${segment}]`;
    return text ? `${text}.${String(segment)}` : String(segment);
  }, "");
}

/** A zod issue as problem lines, its path under `parent`; an unknown-keys issue names each key. */
export function describeIssue(issue: z.core.$ZodIssue, parent: readonly PropertyKey[] = []): string[] {
  const at = [...parent, ...issue.path];
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${formatIssuePath([...at, key])}: ${issue.message}`);
  }
  return [`${formatIssuePath(at)}: ${issue.message}`];
}
