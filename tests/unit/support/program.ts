/** The mock-monitor program loader for vitest: each evaluation imports index.ts afresh. */
import { vi } from "vitest";
import { evaluateProgram as evaluateOnce, type Evaluation, type ProgramOptions } from "../../../testkit/mock-program";

export { FIXTURES, makeWorkspace, mockDigestOf, type Evaluation, type ProgramOptions, type RecordedResource } from "../../../testkit/mock-program";

export function evaluateProgram(options: ProgramOptions): Promise<Evaluation> {
  return evaluateOnce(options, () => vi.resetModules());
}
