/** Waiting for a harness deployment to finish under the mock monitor, and reading its outputs without hanging on abandoned ones. */
import * as pulumi from "@pulumi/pulumi";

/** How long a deploy with a failure may go without any realization starting or ending before it is reported. */
const STALL_AFTER_FAILURE_MS = 5000;

/**
 * Waits for the RPC queue to drain, or, once a resource has failed, until nothing has been realized for a
 * while: under mocks a resource that lists a failed one in `dependsOn` can wait forever instead of failing,
 * where the engine would have stopped the update.
 */
export async function settledOrStalled(drained: Promise<void>, failures: string[], progress: { inFlight: number; lastChange: number }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<void>((resolve) => {
    timer = setInterval(() => {
      if (failures.length > 0 && progress.inFlight === 0 && Date.now() - progress.lastChange > STALL_AFTER_FAILURE_MS) resolve();
    }, 250);
  });
  try {
    await Promise.race([drained, stalled]);
  } finally {
    clearInterval(timer);
  }
}

/** How long an output may stay pending once every registration has finished (see resolveOutputs). */
const SETTLED_OUTPUT_GRACE_MS = 1000;

/**
 * Resolves the program's exports. Call it only after the RPC queue has drained: an output of a resource
 * whose dependency failed never settles (its registration is abandoned before the mock is called), so a
 * value still pending after a short grace is reported instead of awaited forever.
 */
export async function resolveOutputs(exported: Record<string, unknown>, errors: string[]): Promise<Record<string, unknown>> {
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exported)) {
    const output = pulumi.output(value);
    let timer: NodeJS.Timeout | undefined;
    const abandoned = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("never resolved (a resource it depends on was not created)")), SETTLED_OUTPUT_GRACE_MS);
    });
    try {
      // Output#promise is internal but is what the runtime itself awaits for stack outputs.
      outputs[key] = await Promise.race([(output as unknown as { promise(): Promise<unknown> }).promise(), abandoned]);
    } catch (error) {
      errors.push(`output ${key}: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
  return outputs;
}
