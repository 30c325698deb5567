import { z } from "zod";

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

/** A strict object whose unknown-key error lists the keys that are valid at that level (typos are the usual cause). */
export function strictObject<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? `unknown key (valid here: ${Object.keys(shape).join(", ")})` : undefined),
  });
}

/** A whole number with an example in every message, the type error included. */
export const count = (example: number, minimum: number, why = "", maximum = Number.MAX_SAFE_INTEGER) => {
  const range = maximum === Number.MAX_SAFE_INTEGER ? `of at least ${minimum}` : `from ${minimum} to ${maximum}`;
  const error = `must be a whole number ${range}${why ? ` (${why})` : ""}, e.g. ${example}`;
  return z.int({ error }).min(minimum, { error }).max(maximum, { error });
};
