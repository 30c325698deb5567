/** The runs section of the component's arguments (`runs[i]`), documented: what each key means and its default. */
import type * as pulumi from "@pulumi/pulumi";

/** One non-interactive agent run in a sandbox. */
export interface RunArgs {
  /** Names the run's stack output; same rules as a sandbox name. */
  readonly name: string;
  /** The sandbox to run in. */
  readonly sandbox: string;
  /**
   * Sent to the agent verbatim on stdin: quotes, `$(...)` and newlines arrive as written and run nothing.
   * May come from another resource. Set this or `promptFile`. In stack config, keep it under about 100 KB:
   * the Pulumi CLI hands the program the whole config in one environment variable, which Linux caps at
   * 128 KiB; a longer prompt goes in `promptFile`.
   */
  readonly prompt?: pulumi.Input<string>;
  /**
   * A UTF-8 file whose content is the prompt, sent to the agent byte for byte like `prompt`: absolute, or
   * relative to the folder Pulumi runs the program in, the project folder (where Pulumi.yaml is) unless its
   * `main` is elsewhere. Read when the program runs, on the machine running Pulumi; a changed file re-runs
   * the run. Set this or `prompt`; for prompts of any length.
   */
  readonly promptFile?: string;
  /** Most agent turns, at least 1 (default 20); only for agents whose CLI has a turn limit (Claude Code). */
  readonly maxTurns?: number;
  /** Model to use; unset: the agent's default. */
  readonly model?: string;
  /** Tools the agent may use without asking, in the agent's syntax, e.g. ["Read", "Edit", "Bash(npm test)"]. */
  readonly allowedTools?: string[];
  /** Values that, when changed, re-run the agent (e.g. a git commit, also another resource's output). */
  readonly triggers?: pulumi.Input<string>[];
  /**
   * Run in a fresh container made for this run from the sandbox's own container spec (image, user,
   * hardening, limits, mounts, network, egress proxy) and removed when the run ends, succeeded, failed or
   * interrupted; the sandbox's home volume is mounted as in the sandbox (default false: `docker exec` in the sandbox).
   */
  readonly ephemeral?: boolean;
  /** With ephemeral: how many of this run's finished containers to keep, stopped, for inspection; older ones are removed first (default 0). */
  readonly keepFinished?: number;
  /** Another run of the same sandbox whose agent session this run continues; it runs after that run, and again whenever that run re-ran. */
  readonly resume?: string;
  /** With resume: start a new session from the resumed one's history instead of continuing it (default false). */
  readonly fork?: boolean;
}
