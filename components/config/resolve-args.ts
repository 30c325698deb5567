/**
 * From AgentSandboxesArgs to a validated StackConfig plus its secrets. Nothing here declares a resource,
 * so bad arguments fail before anything is created, with every problem in one ConfigError.
 */
import * as os from "node:os";
import * as pulumi from "@pulumi/pulumi";
import { API_KEY_SECRETS, type ApiKeySecret } from "../agents";
import type { SecretsPresent } from "../credentials/plan";
import { engineClient, environmentTarget, resolvedTarget, typedCommand } from "../engine/client";
import { type DockerHostConfig, isRemoteEngine } from "../engine/config";
import { defaultEngineProbe, type EngineProbe, engineAddressOf, engineProblem } from "../engine/engine-check";
import { engineIdentityProblems, engineSettingProblems } from "../engine/engine-kind";
import {
  defaultEngineFactsProbe,
  type EngineFacts,
  type EngineFactsProbe,
  type EngineFailure,
  missingRuntimeProblem,
  remoteEngineProblem,
} from "../engine/runtimes";
import { existingProtectedPaths } from "../guardrails/protected-paths";
import { GVISOR_RUNTIME, Isolation } from "../hardening/isolation";
import { basePlatformProblems, defaultManifestProbe, type ManifestProbe } from "../image/base-platforms";
import { imageHostProblems } from "../image/config";
import { clusterLimitWarnings } from "../kubernetes/config";
import { withPromptFiles } from "../runs/prompt-file";
import { SandboxMode } from "../sandbox/config";
import { cpuProblems, listedSandboxKey, type SandboxKey, sandboxHostProblems, shortcutSandboxKey, withHostDefaults } from "../sandbox/host-checks";
import { protectionFor } from "../sandbox/workspace-protection";
import { ConfigError } from "../values/config-error";
import { type HostProbe, realHostProbe } from "../values/host-probe";
import type { AgentSandboxesArgs } from "./args";
import { credentialProblems } from "./secret-rules";
import { type ParsedStackConfig, parseStackConfig, type StackConfig } from "./stack-schema";

/** Arguments that hold secrets: they stay Pulumi secrets all the way to the credentials volume. */
export const SECRET_KEYS = [...API_KEY_SECRETS, "gitToken", "registryPassword"] as const;
export type SecretKey = ApiKeySecret | "gitToken" | "registryPassword";
export type StackSecrets = Partial<Record<SecretKey, pulumi.Output<string>>>;

export interface ResolvedArgs {
  readonly config: StackConfig;
  readonly secrets: StackSecrets;
  /** PEM text of `image.extraCaCertsFile`, as a secret: it reaches the build only as a BuildKit secret. */
  readonly extraCaCerts?: pulumi.Output<string>;
  /** Per sandbox, its protected paths that exist in the workspace; none is known for a remote engine. */
  readonly protectedPaths: Record<string, string[]>;
  /** What the deployment should say without refusing it: a remote engine's read-write workspaces go unprotected. */
  readonly warnings: string[];
}

/** Which of the stack's secrets are set, as the plans need to know it (never their values). */
export function secretsPresent(secrets: Partial<Record<SecretKey, unknown>>): SecretsPresent {
  return { apiKeys: API_KEY_SECRETS.filter((key) => secrets[key] !== undefined), gitToken: secrets.gitToken !== undefined };
}

/** The protected paths of each sandbox that exist on this machine, which is the Docker host. */
function existingProtection(config: StackConfig, probe: HostProbe): Record<string, string[]> {
  if (isRemoteEngine(config.docker)) return {};
  const view = { exists: (hostPath: string) => probe.stat(hostPath) !== undefined, realPath: (hostPath: string) => probe.realPath(hostPath) };
  return Object.fromEntries(
    config.sandboxes.map((sandbox) => [
      sandbox.name,
      sandbox.workspace === undefined ? [] : existingProtectedPaths(sandbox.workspace, protectionFor(sandbox), view),
    ]),
  );
}

/** The read-write workspaces a remote engine leaves unprotected: none of their paths can be read from here. */
export function remoteProtectionWarnings(config: StackConfig): string[] {
  const host = config.docker?.host;
  if (!host || !isRemoteEngine(config.docker)) return [];
  return config.sandboxes
    .filter((sandbox) => sandbox.mode === SandboxMode.ReadWrite)
    .map(
      (sandbox) =>
        `sandbox ${sandbox.name}: workspace protection cannot run for the remote engine ${host} (its workspace cannot be read from here), so no path of ${sandbox.workspace} is mounted read-only and the agent could plant code that host runs (git hooks, editor tasks); use mode: clone or mode: ro for an agent you would not trust with that`,
    );
}

/**
 * What the Docker host's filesystem and CPUs say of the sandboxes, and this machine of the image's files.
 * For a remote engine (`remote`) only what it reports of itself (its CPUs, when known) and the image's
 * files, which are read on this machine whatever the engine.
 */
export function hostProblems(
  config: ParsedStackConfig,
  probe: HostProbe,
  homeDir: string,
  keyOf: SandboxKey = listedSandboxKey,
  remote?: { readonly cpus?: number },
): string[] {
  // A cluster's nodes, not this machine, hold its sandboxes' CPUs: the scheduler places them.
  const cpus = config.kubernetes ? undefined : remote ? remote.cpus : probe.cpuCount();
  return [
    ...(cpus === undefined ? [] : cpuProblems(config.sandboxes, cpus, keyOf)),
    ...(remote ? [] : sandboxHostProblems(config.sandboxes, config.image.agentUid, probe, homeDir, keyOf)),
    ...imageHostProblems(config.image, probe),
  ];
}

/**
 * Schema, then the Docker host's facts (for a remote engine, whose paths cannot be read from here, only
 * the CPUs it reported, `engineCpus`), then the host's defaults; every problem, `extraProblems` included,
 * in one ConfigError.
 */
export function validateStackConfig(
  raw: Record<string, unknown>,
  probe: HostProbe,
  homeDir: string,
  extraProblems: string[] = [],
  secretsPresent?: SecretsPresent,
  manifestProbe?: ManifestProbe,
  engineCpus?: number,
): StackConfig {
  let parsed: ParsedStackConfig;
  try {
    parsed = parseStackConfig(raw, { homeDir });
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError([...error.problems, ...extraProblems]);
    throw error;
  }
  // Prompt files are read on the machine running Pulumi, where the run's command runs: also for a remote engine.
  const { runs, problems: promptProblems } = withPromptFiles(parsed.runs, probe);
  const config: StackConfig = { ...parsed, runs };
  const remoteHost = isRemoteEngine(config.docker);
  const keyOf = raw.sandboxes === undefined ? shortcutSandboxKey : listedSandboxKey;
  const problems = [
    ...extraProblems,
    ...promptProblems,
    ...(secretsPresent ? credentialProblems(parsed, secretsPresent, keyOf) : []),
    ...hostProblems(parsed, probe, homeDir, keyOf, remoteHost ? { cpus: engineCpus } : undefined),
    ...basePlatformProblems(config.image, manifestProbe),
  ];
  if (problems.length > 0) throw new ConfigError(problems);
  const hostCpus = config.kubernetes ? undefined : remoteHost ? engineCpus : probe.cpuCount();
  return hostCpus === undefined ? config : { ...config, sandboxes: withHostDefaults(config.sandboxes, hostCpus) };
}

/**
 * Where a value that must be plain is an output of another resource: it decides which resources exist,
 * so it has to be known, and checked, before any is declared.
 */
export function outputProblems(value: unknown, key = ""): string[] {
  if (pulumi.Output.isInstance(value)) {
    return [`${key}: is an output of another resource, but it decides which resources are declared and is checked before any is; pass a plain value`];
  }
  if (Array.isArray(value)) return value.flatMap((item, index) => outputProblems(item, `${key}[${index}]`));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([name, inner]) => outputProblems(inner, key ? `${key}.${name}` : name));
  }
  return [];
}

/** Stands in for an output while the schema checks the rest; the output itself reaches the run. */
const known = <T>(value: pulumi.Input<T>, placeholder: T): pulumi.Input<T> => (pulumi.Output.isInstance(value) ? placeholder : value);

/**
 * A run's prompt and triggers may be outputs of other resources: the schema checks a stand-in for each,
 * and the validated runs get them back.
 */
function withRunOutputsSetAside(args: Omit<AgentSandboxesArgs, SecretKey>) {
  const runs = args.runs?.map((run) => ({
    ...run,
    prompt: run.prompt === undefined ? undefined : known(run.prompt, "(an output of another resource)"),
    triggers: run.triggers?.map((trigger) => known(trigger, "")),
  }));
  const restore = (config: StackConfig): StackConfig =>
    args.runs
      ? {
          ...config,
          runs: config.runs.map((run, index) => ({ ...run, prompt: args.runs![index].prompt ?? run.prompt, triggers: args.runs![index].triggers ?? [] })),
        }
      : config;
  return { plain: { ...args, ...(runs ? { runs } : {}) }, restore };
}

/** The engine's problem, if a probe finds nothing answering where the providers will look (engine-check.ts). */
function engineProblems(docker: AgentSandboxesArgs["docker"], engineProbe: EngineProbe | undefined, env: NodeJS.ProcessEnv): string[] {
  if (!engineProbe) return [];
  const problem = engineProblem(engineAddressOf(docker, env), engineProbe, typeof docker?.certPath === "string" ? docker.certPath : undefined);
  return problem ? [problem] : [];
}

/**
 * The engine every client reaches, spelled out: without `docker.host` the providers take a Docker engine from
 * the environment (DOCKER_HOST…) but the commands' CLI starts from an empty one, and an engine named by
 * `docker.engine` is at its own socket (client.ts resolvedTarget).
 */
export function withEnvironmentDockerHost<T extends { docker?: unknown }>(args: T, env: NodeJS.ProcessEnv): T {
  const section = args.docker as DockerHostConfig | undefined;
  // Anything else than an object is the schema's to report.
  if (section !== undefined && (typeof section !== "object" || section === null)) return args;
  if (section?.host !== undefined) return args;
  const target = section?.engine === undefined || section.engine === "docker" ? environmentTarget(env) : resolvedTarget(section);
  return target ? { ...args, docker: { ...section, ...target } } : args;
}

/** The keys that ask for gVisor: a sandbox's own `isolation`, or the stack's that a sandbox (or the shortcut's) inherits. */
export function gvisorKeys(args: Pick<AgentSandboxesArgs, "sandboxes" | "isolation">): string[] {
  const inherited = args.isolation === Isolation.Gvisor ? ["isolation"] : [];
  if (args.sandboxes === undefined) return inherited;
  const keys = args.sandboxes.flatMap((sandbox, index) => {
    if (sandbox?.isolation === undefined) return inherited;
    return sandbox.isolation === Isolation.Gvisor ? [`sandboxes[${index}].isolation`] : [];
  });
  return [...new Set(keys)];
}

/**
 * What the engine says of itself: which engine it is (a stack is rendered for one), the runtimes a sandbox
 * asking for gVisor needs, the CPUs of a remote host (a local one's are this machine's). Not asked of an
 * engine that does not answer.
 */
function askEngine(targeted: Omit<AgentSandboxesArgs, SecretKey>, probe: EngineFactsProbe | undefined): EngineFacts | EngineFailure | undefined {
  return probe?.(engineClient(targeted.docker));
}

/**
 * A remote engine the CLI could not ask (its port answered the engine check, but ssh or the engine refused),
 * else an engine other than the one the stack is declared for, else the sandboxes asking for gVisor on an
 * engine that has no runsc. A local engine that could not be asked answered its ping: the providers say
 * what went wrong.
 */
function engineFactProblems(
  targeted: Omit<AgentSandboxesArgs, SecretKey>,
  answer: EngineFacts | EngineFailure | undefined,
  env: NodeJS.ProcessEnv,
  stackSection: AgentSandboxesArgs["docker"],
): string[] {
  if (answer && "failure" in answer) {
    if (!isRemoteEngine(targeted.docker)) return [];
    const address = engineAddressOf(stackSection, env);
    const client = engineClient(targeted.docker);
    return [remoteEngineProblem(address.setting, address.url, answer.failure, typedCommand(client, ["info"]))];
  }
  // A cluster's sandboxes run under its RuntimeClass gvisor, not the build engine's runsc.
  const wanting = targeted.kubernetes ? [] : gvisorKeys(targeted);
  const engine = engineAddressOf(targeted.docker, env).url;
  const identity = answer ? engineIdentityProblems(engineClient(targeted.docker), answer, engine) : [];
  if (!answer || identity.length > 0 || wanting.length === 0 || answer.runtimes.includes(GVISOR_RUNTIME)) return identity;
  return wanting.map((key) => missingRuntimeProblem(key, GVISOR_RUNTIME, engine, answer.runtimes));
}

/**
 * Validates the component's arguments and that an engine answers (with the runtimes its sandboxes ask
 * for); secrets become (or stay) Pulumi secrets. Probes left undefined skip those checks (as under mocks).
 */
export function resolveArgs(
  args: AgentSandboxesArgs,
  probe: HostProbe = realHostProbe,
  homeDir = os.homedir(),
  engineProbe: EngineProbe | undefined = defaultEngineProbe(),
  env: NodeJS.ProcessEnv = process.env,
  engineFactsProbe: EngineFactsProbe | undefined = defaultEngineFactsProbe(env),
  manifestProbe: ManifestProbe | undefined = defaultManifestProbe(env),
): ResolvedArgs {
  const given = Object.fromEntries(SECRET_KEYS.map((key) => [key, args[key]])) as Partial<Record<SecretKey, pulumi.Input<string>>>;
  const rest = Object.fromEntries(Object.entries(args).filter(([key]) => !(SECRET_KEYS as readonly string[]).includes(key)));
  const { plain, restore } = withRunOutputsSetAside(rest);
  const unreachable = engineProblems(plain.docker, engineProbe, env);
  const targeted = withEnvironmentDockerHost(plain, env);
  const settings = engineSettingProblems(plain.docker, gvisorKeys(plain));
  const answer = unreachable.length > 0 || settings.length > 0 ? undefined : askEngine(targeted, engineFactsProbe);
  const facts = answer && !("failure" in answer) ? answer : undefined;
  const problems = [...outputProblems(plain), ...unreachable, ...settings, ...engineFactProblems(targeted, answer, env, plain.docker)];
  if (plain.image?.registry?.username && given.registryPassword === undefined) {
    problems.push("registryPassword: image.registry.username is set but no password; run: pulumi config set --secret registryPassword <password>");
  }
  const present = secretsPresent(given);
  const config = restore(validateStackConfig(targeted as Record<string, unknown>, probe, homeDir, problems, present, manifestProbe, facts?.cpus));
  const secrets: StackSecrets = {};
  for (const key of SECRET_KEYS) {
    const value = given[key];
    if (value !== undefined) secrets[key] = pulumi.secret(value);
  }
  const caFile = config.image.extraCaCertsFile;
  const extraCaCerts = caFile ? pulumi.secret(probe.readText(caFile) ?? "") : undefined;
  const warnings = [...remoteProtectionWarnings(config), ...(config.kubernetes ? clusterLimitWarnings(plain.sandboxes) : [])];
  return { config, secrets, extraCaCerts, protectedPaths: existingProtection(config, probe), warnings };
}
