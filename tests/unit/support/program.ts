/** The mock-monitor program loader for vitest: each evaluation imports index.ts afresh. */
import { vi } from "vitest";
import { type Evaluation, evaluateProgram as evaluateOnce, type ProgramOptions } from "../../../testkit/mock-program";

export { type Evaluation, FIXTURES, makeWorkspace, mockDigestOf, type ProgramOptions, type RecordedResource } from "../../../testkit/mock-program";

export function evaluateProgram(options: ProgramOptions): Promise<Evaluation> {
  return evaluateOnce(options, () => vi.resetModules());
}
