/**
 * What every agent's stream parser does with a CLI's stdout of JSON lines: split it, keep the objects, and
 * quote its last lines (clipped) when the stream ended without the CLI's outcome.
 */

const TAIL_LINES = 5;
const TAIL_LINE_CHARS = 300;

/** The non-empty lines of a stdout, and the JSON objects among them (a plain warning line carries no run state). */
export function jsonLines(stdout: string): { lines: string[]; objects: Record<string, unknown>[] } {
  const lines = stdout.split("\n").filter((line) => line.trim() !== "");
  return { lines, objects: lines.map(parseJsonObject).filter((value) => value !== undefined) };
}

/** A line cut to what a failure message can quote. */
export function clip(line: string): string {
  return line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS)}…` : line;
}

/** The last lines of the stream, clipped, after `Last lines:`: what a failure quotes when the outcome is missing. */
export function lastLines(lines: readonly string[]): string {
  return `Last lines:\n${lines.slice(-TAIL_LINES).map(clip).join("\n")}`;
}

function parseJsonObject(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
