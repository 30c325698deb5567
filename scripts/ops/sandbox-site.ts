/**
 * Where a stack's sandboxes run, as the ops verbs need it: a Docker engine (engine-site.ts) or a cluster
 * (cluster-site.ts), chosen from the stack's config by siteFor (site-for-stack.ts). Each verb is written once
 * against this interface, so status, refresh, shell and logs read the same on both.
 */
import type { SandboxInfo } from "../../components/agent-sandboxes";
import type { EngineAddress } from "../../components/engine/engine-check";
import type { Verb } from "./person-commands";
import type { SandboxWorkload } from "./refresh-plan";
import type { SandboxFacts } from "./status-report";

/** Where the site is, as `status --all` names it, and the command a person checks it with. */
export interface SiteAddress {
  readonly url: string;
  /** The setting that chose it: the engine's (engine-check.ts), or the stack's `kubernetes` section. */
  readonly setting: EngineAddress["setting"] | "kubernetes";
  /** On a cluster, the stack's namespace. */
  readonly namespace?: string;
  readonly check: string;
}

/** A sandbox's container or pod as the person verbs check it: its state, what keeps it from taking a shell, and its ID. */
export interface Presence {
  /** As SandboxFacts.state: running, exited, pending, …, or missing. */
  readonly state: string;
  /** Why a running sandbox cannot take a shell or the agent yet (a pod that is not Ready); undefined when it can. */
  readonly notReady?: string;
  /** The container ID, or the pod's UID: a replacement has a new one. */
  readonly id?: string;
}

export interface SandboxSite {
  readonly address: SiteAddress;
  /** What runs a sandbox there (container or pod): how messages name it and which resource refresh replaces. */
  readonly workload: SandboxWorkload;
  /** Why the engine or cluster does not answer, or undefined when it does. */
  unreachable(): Promise<string | undefined>;
  /** What status reports of each sandbox, in the order given. */
  facts(sandboxes: Readonly<Record<string, SandboxInfo>>): Promise<SandboxFacts[]>;
  presence(info: SandboxInfo): Promise<Presence>;
  /** Runs shell, logs or agent on the sandbox attached to this process's terminal; resolves to its exit status. */
  attach(verb: Verb, info: SandboxInfo, extra: readonly string[]): Promise<number>;
}
