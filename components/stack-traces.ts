/**
 * Stack traces during program evaluation. The Pulumi Node SDK formats a stack trace for every promise
 * it creates — four per output property of every resource, about a thousand per sandbox — only to explain
 * promise leaks when PULUMI_DEBUG_PROMISE_LEAKS is set. Under the language host every frame is also mapped
 * through source-map-support, which made that bookkeeping 85% of evaluating 100 sandboxes (10 s → 1.5 s,
 * `npm run bench`). Resource source positions are unaffected: the SDK lifts the limit itself to record them.
 */

/** Environment variables that bring full stack traces back, for debugging the program or the SDK. */
export const STACK_TRACE_SWITCHES = ["AGENT_SANDBOX_STACK_TRACES", "PULUMI_DEBUG_PROMISE_LEAKS"] as const;

/** The `Error.stackTraceLimit` the program runs with, or undefined to leave Node's own (a switch is set). */
export function stackTraceLimitFor(env: NodeJS.ProcessEnv): number | undefined {
  return STACK_TRACE_SWITCHES.some((name) => (env[name] ?? "") !== "") ? undefined : 0;
}

/**
 * Errors keep their message ("ConfigError: … key: problem (fix)"), which is what a user acts on; only the
 * frames go, unless one of the switches is set.
 */
export function applyStackTraceLimit(env: NodeJS.ProcessEnv = process.env): void {
  const limit = stackTraceLimitFor(env);
  if (limit !== undefined) Error.stackTraceLimit = limit;
}
