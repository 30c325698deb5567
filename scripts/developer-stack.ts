/**
 * What `npm run stack:new` writes: a developer's own stack file from facts about their machine, checked
 * by the program's own config schema before it is written, so a new stack never starts out invalid.
 */
import * as os from "node:os";
import { stringify } from "yaml";
import { validateStackConfig } from "../components/config/resolve-args";
import { readRawConfig } from "../components/config/stack-config";
import { CONFIG_NAMESPACE, type StackConfig } from "../components/config/stack-schema";
import { engineClient, environmentTarget } from "../components/engine/client";
import { type EngineFactsProbe, realEngineFactsProbe } from "../components/engine/runtimes";
import { GVISOR_RUNTIME, Isolation } from "../components/hardening/isolation";
import type { HostProbe } from "../components/values/host-probe";
import { configSizeProblem } from "./pulumi-config-env";

export interface DeveloperFacts {
  readonly stack: string;
  /** The folder the agent works on: given, or the current repository's root. */
  readonly workspace: string;
  /** Owner of the workspace: the agent runs as this UID/GID so files it writes stay the developer's. */
  readonly uid: number;
  readonly gid: number;
  /** The isolation every sandbox of the stack gets (newStackIsolation). */
  readonly isolation: Isolation;
}

/**
 * A new stack runs its sandboxes under gVisor when the engine offers runsc, and says so in its stack file,
 * so moving the stack to an engine without it is a config error, not a quietly weaker sandbox.
 */
export function newStackIsolation(offered: readonly string[] | undefined): Isolation {
  return offered?.includes(GVISOR_RUNTIME) ? Isolation.Gvisor : Isolation.Container;
}

/** Why a new stack got its isolation, for the line that tells the developer. */
export function isolationReason(isolation: Isolation): string {
  return isolation === Isolation.Gvisor
    ? "the engine offers gVisor's runsc, so the agent gets a kernel of its own"
    : "the engine offers no runsc; docs/security-model.md says how to add it, then set isolation: gvisor";
}

/** The engine's runtimes, asked where the providers will look (DOCKER_HOST and its TLS files, else the local socket). */
export function offeredRuntimes(env: NodeJS.ProcessEnv = process.env, probe: EngineFactsProbe = realEngineFactsProbe): readonly string[] | undefined {
  const answer = probe(engineClient(environmentTarget(env)));
  return "failure" in answer ? undefined : answer.runtimes;
}

/** Pulumi's rule for stack names, tightened to what also reads well in container names. */
export function stackNameProblem(stack: string): string | undefined {
  if (/^[a-z0-9][a-z0-9_.-]{0,39}$/.test(stack)) return undefined;
  return `stack name "${stack}" must be 1-40 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. "alice")`;
}

/**
 * Engine names are `<project>-<stack>-<sandbox>…`, so stack `alice` with sandbox `main-x` and stack
 * `alice-main` with sandbox `x` would both name a container `agent-sandbox-alice-main-x`. A new stack whose
 * name extends another's by a dash (or is extended by one) is refused while that other stack is here.
 */
export function stackNamePrefixProblem(stack: string, existing: readonly string[]): string | undefined {
  const other = existing.find((name) => name !== stack && (stack.startsWith(`${name}-`) || name.startsWith(`${stack}-`)));
  if (!other) return undefined;
  const [shorter, longer] = other.length < stack.length ? [other, stack] : [stack, other];
  const extra = longer.slice(shorter.length + 1);
  return `stack name "${stack}" and the existing stack "${other}" could give two sandboxes one container name (stack "${shorter}" with sandbox "${extra}-x" and stack "${longer}" with sandbox "x" both make agent-sandbox-${longer}-x); pick a name that does not extend the other by a dash, e.g. "${stack.replace(/-/g, "")}"`;
}

export function developerStackFile(facts: DeveloperFacts): { path: string; text: string } {
  const config = {
    // The one-sandbox shortcut, which `npm run up|preview -- <folder>` also sets.
    [`${CONFIG_NAMESPACE}:workspace`]: facts.workspace,
    [`${CONFIG_NAMESPACE}:image`]: { agentUid: facts.uid, agentGid: facts.gid },
    [`${CONFIG_NAMESPACE}:isolation`]: facts.isolation,
  };
  const header = `# ${facts.stack}'s own stack, written by \`npm run stack:new\`. Secrets: npm run pulumi -- config set --secret anthropicApiKey <key> (openaiApiKey for Codex sandboxes)\n`;
  return { path: `Pulumi.${facts.stack}.yaml`, text: header + stringify({ config }) };
}

/**
 * Reads a stack file's config the way the program does and validates it: whether the CLI can hand it
 * over at all, then schema, then host facts.
 */
export function validateStackFile(config: Record<string, unknown>, probe: HostProbe): StackConfig {
  const asPulumiConfig = Object.fromEntries(Object.entries(config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]));
  const tooBig = configSizeProblem(config, CONFIG_NAMESPACE);
  return validateStackConfig(readRawConfig(asPulumiConfig).raw, probe, os.homedir(), tooBig ? [tooBig] : []);
}
