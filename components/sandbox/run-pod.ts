/** What a cluster's sandbox offers its ephemeral runs: its own pod spec, to make each run's Job from. */
import type * as pulumi from "@pulumi/pulumi";
import type { HealthTimings } from "../hardening/baseline";

/** What a run needs of its sandbox to make a Job of its own from the sandbox's pod. */
export interface RunPodSource {
  /** The sandbox pod's spec, resolved: made only for an ephemeral run. */
  spec(): pulumi.Output<Record<string, unknown>>;
  /** The sandbox's labels (project, stack, sandbox), which its NetworkPolicy selects: a run's pod gets them too. */
  readonly labels: Record<string, string>;
  readonly namespace: string;
  /** The `kubectl` line prefix of the stack's cluster (kubectl.ts kubectlCommand with no arguments). */
  readonly kubectl: string;
  readonly health: HealthTimings;
}
