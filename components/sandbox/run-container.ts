/** What a sandbox offers its ephemeral runs: its own container spec, to make each run's container from. */
import type * as pulumi from "@pulumi/pulumi";
import type { ContainerSpec } from "../engine/container-cli";
import type { HealthTimings } from "../hardening/baseline";

/** What a run needs of its sandbox to make its own container from the sandbox's spec. */
export interface RunContainerSource {
  /** The sandbox container's inputs, resolved: made only for an ephemeral run, since a deep output costs a promise per input. */
  spec(): pulumi.Output<ContainerSpec>;
  /** The sandbox's labels (project, stack, sandbox). */
  readonly labels: Record<string, string>;
  readonly pidsLimit: number;
  readonly health: HealthTimings;
}
