/**
 * The arguments of the AgentSandboxes component: the stack config's shape as plain interfaces, with the
 * secrets as `pulumi.Input`s. They are the documented API (a TypeScript program passes them, Pulumi's
 * component analyzer turns them into the package schema for other languages); each section's interfaces
 * are in its domain's args.ts, validated by that domain's config.ts. Besides the secrets, only a run's
 * prompt and triggers may be outputs of other resources: they flow into that run alone. Everything else
 * decides which resources are declared, or is read before any is (a run's promptFile), so it is a plain value.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { DockerHostArgs } from "../engine/args";
import type { Isolation } from "../hardening/isolation";
import type { ImageArgs } from "../image/args";
import type { KubernetesArgs } from "../kubernetes/args";
import type { RunArgs } from "../runs/args";
import type { RefreshArgs, SandboxArgs } from "../sandbox/args";

/** Hardened Docker sandboxes for AI coding agents, the agent image they run, and agent runs in them. */
export interface AgentSandboxesArgs {
  /** Shortcut for one sandbox named "main" on this folder (absolute path on the Docker host). Set this or `sandboxes`. */
  readonly workspace?: string;
  /** The sandboxes, each a hardened container on its own network. Set this or `workspace`. */
  readonly sandboxes?: SandboxArgs[];
  /**
   * The isolation of every sandbox that does not set its own (the shortcut's too; see the sandbox's
   * `isolation`). Unset: container. `npm run stack:new` writes gvisor here when the engine offers runsc.
   */
  readonly isolation?: Isolation;
  /** The agent image every sandbox runs. */
  readonly image?: ImageArgs;
  /** Agent runs: one non-interactive agent invocation each, its prompt inline or from a file, its result a stack output. */
  readonly runs?: RunArgs[];
  /** The Docker engine to use; unset: the local socket. */
  readonly docker?: DockerHostArgs;
  /** A Kubernetes cluster to run the sandboxes on instead of the Docker engine (which then only builds the images); docs/kubernetes-target.md. */
  readonly kubernetes?: KubernetesArgs;
  /** When `npm run status` reports a sandbox as due for `npm run refresh` (a new container; home volume and workspace kept). */
  readonly refresh?: RefreshArgs;
  /** Anthropic API key (Claude Code, OpenCode): only the sandboxes' credential proxies read it (auth proxy), never the sandbox, its config or an image. */
  readonly anthropicApiKey?: pulumi.Input<string>;
  /** OpenAI API key (Codex): only the sandboxes' credential proxies read it (auth proxy), never the sandbox, its config or an image. */
  readonly openaiApiKey?: pulumi.Input<string>;
  /** Token for git over HTTPS: the credential proxy adds it to the egress.gitRepos requests (with acknowledged credentials-in-sandbox, the image's credential helper reads it for gitHosts). */
  readonly gitToken?: pulumi.Input<string>;
  /** Password of `image.registry.username`. */
  readonly registryPassword?: pulumi.Input<string>;
}
