/**
 * The pure half of `npm run status -- --all`: every stack of the backend with its engine and its
 * sandboxes' rows (status-report.ts's, the same columns and notes), as one table or as JSON, and the exit
 * status. A stack whose engine does not answer, or which cannot be read, is a row saying so, not an end
 * of the report. status.ts gathers the stacks.
 */
import type { SiteAddress } from "./sandbox-site";
import { builtImageOf, type OpsStack } from "./stack-outputs";
import {
  alignColumns,
  ENGINE_UNREACHABLE,
  type NoteStyle,
  rowNotes,
  type SandboxFacts,
  STATUS_TITLES,
  type StatusRow,
  statusCells,
  statusExitCode,
  statusRow,
} from "./status-report";

/** A stack's engine or cluster: its address and the setting that chose it, whether it answered and the command that checks it. */
export interface FleetEngine extends SiteAddress {
  /** Whether it answered its ping; null when nothing asked it (a stack without sandboxes). */
  readonly reachable: boolean | null;
  /** Why it did not answer (the connection's error, or the wait). */
  readonly reason?: string;
}

export interface FleetStack {
  readonly stack: string;
  /** Missing when the stack's outputs or config could not be read. */
  readonly engine?: FleetEngine;
  /** Why the stack or its sandboxes could not be read. */
  readonly error?: string;
  /** Its sandboxes' rows, as `npm run status -- --json` gives them; state ENGINE_UNREACHABLE when its engine did not answer. */
  readonly sandboxes: readonly StatusRow[];
}

/** The rows of a stack's sandboxes from what its engine said, with the risky changes its runs reported. */
export function stackRows(stack: OpsStack, facts: readonly SandboxFacts[], now: Date): StatusRow[] {
  return facts.map((fact) => ({
    ...statusRow(fact, stack.refresh, builtImageOf(stack, fact.name), now),
    riskyChanges: stack.riskyChanges[fact.name] ?? [],
  }));
}

/** The rows of a stack whose engine did not answer: each sandbox its outputs name, in state ENGINE_UNREACHABLE. */
export function unreachableRows(stack: OpsStack, now: Date): StatusRow[] {
  const facts = Object.entries(stack.sandboxes).map(([name, info]) => ({ name, container: info.container, state: ENGINE_UNREACHABLE }));
  return stackRows(stack, facts, now);
}

/** 0 when every stack was read, every engine asked answered, every sandbox is healthy and none is due; 1 otherwise. */
export function fleetExitCode(stacks: readonly FleetStack[]): number {
  const read = stacks.every((stack) => stack.error === undefined && stack.engine?.reachable !== false);
  return read && statusExitCode(stacks.flatMap((stack) => stack.sandboxes)) === 0 ? 0 : 1;
}

/** How the engine or cluster is reached, as the table shows it: the local socket, or the address and the setting that named it. */
export function engineLabel(engine: Omit<SiteAddress, "check"> | undefined): string {
  if (!engine) return "–";
  if (engine.setting === "kubernetes") return `${engine.url} (namespace ${engine.namespace})`;
  if (engine.setting === "default") return "local socket";
  return engine.setting === "DOCKER_HOST" ? `${engine.url} (DOCKER_HOST)` : engine.url;
}

const SETTING_TEXT: Record<SiteAddress["setting"], string> = {
  kubernetes: "the cluster of its kubernetes section",
  "docker.host": "its docker.host",
  "docker.engine": "the socket of its docker.engine, as it sets no docker.host",
  DOCKER_HOST: "DOCKER_HOST of this shell, as the stack sets no docker.host",
  default: "the local socket, as neither docker.host nor DOCKER_HOST is set",
};

/** The stack's own problem: why it could not be read, or why its engine did not answer and how to check it; undefined when none. */
export function stackProblem(stack: FleetStack): string | undefined {
  if (stack.error !== undefined) return `${stack.stack}: ${stack.error}`;
  const engine = stack.engine;
  if (engine?.reachable !== false) return undefined;
  return `${stack.stack}: ${ENGINE_UNREACHABLE} at ${engine.url} (${SETTING_TEXT[engine.setting]}): ${engine.reason}; check it with: ${engine.check}`;
}

const noteStyle = (stack: string): NoteStyle => ({
  label: (row) => `${stack}/${row.name}`,
  refresh: (row) => `npm run refresh -- ${row.name} --stack ${stack}`,
});

/** A table line for a stack with no sandbox row: none yet, or unreadable. */
const placeholder = (stack: FleetStack): string[] => [
  stack.stack,
  engineLabel(stack.engine),
  "–",
  stack.error !== undefined ? "unreadable" : "no sandboxes",
  ...STATUS_TITLES.slice(2).map(() => "–"),
];

/**
 * One table of every stack: stack, engine, then the columns of `npm run status`, one line per sandbox (one
 * for a stack without sandboxes); under it, the stacks' problems and the sandboxes' notes, as `stack/sandbox`.
 */
export function formatFleetTable(stacks: readonly FleetStack[]): string {
  if (stacks.length === 0) return "no stacks on this backend: npm run up (or npm run stack:new -- NAME) makes one";
  const lines = alignColumns([
    ["stack", "engine", ...STATUS_TITLES],
    ...stacks.flatMap((stack) =>
      stack.sandboxes.length === 0 ? [placeholder(stack)] : stack.sandboxes.map((row) => [stack.stack, engineLabel(stack.engine), ...statusCells(row)]),
    ),
  ]);
  const notes = stacks.flatMap((stack) => {
    const problem = stackProblem(stack);
    return [...(problem === undefined ? [] : [problem]), ...stack.sandboxes.flatMap((row) => rowNotes(row, noteStyle(stack.stack)))];
  });
  return [...lines, ...(notes.length ? ["", ...notes] : [])].join("\n");
}

/** The stacks for machines: `{healthy, stacks: [{stack, engine, error?, sandboxes}]}`, healthy as the exit status says. */
export function fleetJson(stacks: readonly FleetStack[]): string {
  return JSON.stringify({ healthy: fleetExitCode(stacks) === 0, stacks }, null, 2);
}
