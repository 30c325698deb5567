/**
 * From AgentSandboxesArgs to a validated StackConfig plus its secrets. Nothing here declares a resource,
 * so bad arguments fail before anything is created, with every problem in one ConfigError.
 */
import * as os from "node:os";
import * as pulumi from "@pulumi/pulumi";
import { API_KEY_SECRETS, type ApiKeySecret } from "../agents";
import type { SecretsPresent } from "../credentials/plan";
import { engineClient, environmentTarget, resolvedTarget } from "../engine/client";
import { type DockerHostConfig, isRemoteEngine } from "../engine/config";
import { defaultEngineProbe, type EngineProbe, engineAddressOf, engineProblem } from "../engine/engine-check";
import { defaultEngineIdentityProbe, type EngineIdentityProbe, engineIdentityProblems, engineSettingProblems } from "../engine/engine-kind";
import { defaultRuntimesProbe, missingRuntimeProblem, type RuntimesProbe } from "../engine/runtimes";
import { existingProtectedPaths } from "../guardrails/protected-paths";
import { GVISOR_RUNTIME, Isolation } from "../hardening/isolation";
import { basePlatformProblems, defaultManifestProbe, type ManifestProbe } from "../image/base-platforms";
import { imageHostProblems } from "../image/config";
import { withPromptFiles } from "../runs/prompt-file";
import { listedSandboxKey, type SandboxKey, sandboxHostProblems, shortcutSandboxKey, withHostDefaults } from "../sandbox/host-checks";
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
}

/** Which of the stack's secrets are set, as the plans need to know it (never their values). */
export function secretsPresent(secrets: Partial<Record<SecretKey, unknown>>): SecretsPresent {
  return { apiKeys: API_KEY_SECRETS.filter((key) => secrets[key] !== undefined), gitToken: secrets.gitToken !== undefined };
}

/** The protected paths of each sandbox that exist on this machine, which is the Docker host. */
function existingProtection(config: StackConfig, probe: HostProbe): Record<string, string[]> {
  if (isRemoteEngine(config.docker)) return {};
  const view = { exists: (hostPath: string) => probe.stat(hostPath) !== undefined, realPath: (hostPath: string) => probe.realPath(hostPath) };
  return Object.fromEntries(config.sandboxes.map((sandbox) => [sandbox.name, existingProtectedPaths(sandbox.workspace, protectionFor(sandbox), view)]));
}

/** What the Docker host's filesystem and CPUs say of the sandboxes and of the image's host file. */
export function hostProblems(config: ParsedStackConfig, probe: HostProbe, homeDir: string, keyOf: SandboxKey = listedSandboxKey): string[] {
  return [...sandboxHostProblems(config.sandboxes, config.image.agentUid, probe, homeDir, keyOf), ...imageHostProblems(config.image, probe)];
}

/**
 * Schema, then the Docker host's facts (skipped for a remote engine, whose paths and CPUs cannot be read
 * from here), then the host's defaults; every problem, `extraProblems` included, in one ConfigError.
 */
export function validateStackConfig(
  raw: Record<string, unknown>,
  probe: HostProbe,
  homeDir: string,
  extraProblems: string[] = [],
  secretsPresent?: SecretsPresent,
  manifestProbe?: ManifestProbe,
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
    ...(remoteHost ? [] : hostProblems(parsed, probe, homeDir, keyOf)),
    ...basePlatformProblems(config.image, manifestProbe),
  ];
  if (problems.length > 0) throw new ConfigError(problems);
  return remoteHost ? config : { ...config, sandboxes: withHostDefaults(config.sandboxes, probe) };
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

/** Sandboxes asking for gVisor on an engine (answering, else the engine's own problem says so) that has no runsc. */
function runtimeProblems(targeted: Omit<AgentSandboxesArgs, SecretKey>, runtimesProbe: RuntimesProbe | undefined, env: NodeJS.ProcessEnv): string[] {
  const wanting = gvisorKeys(targeted);
  if (!runtimesProbe || wanting.length === 0) return [];
  const offered = runtimesProbe(engineClient(targeted.docker));
  if (!offered || offered.includes(GVISOR_RUNTIME)) return [];
  const engine = engineAddressOf(targeted.docker, env).url;
  return wanting.map((key) => missingRuntimeProblem(key, GVISOR_RUNTIME, engine, offered));
}

/** Whether the engine answering is the one the stack is declared for (engine-kind.ts). */
function identityProblems(targeted: Omit<AgentSandboxesArgs, SecretKey>, identityProbe: EngineIdentityProbe | undefined, env: NodeJS.ProcessEnv): string[] {
  if (!identityProbe) return [];
  const client = engineClient(targeted.docker);
  return engineIdentityProblems(client, identityProbe(client), engineAddressOf(targeted.docker, env).url);
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
  runtimesProbe: RuntimesProbe | undefined = defaultRuntimesProbe(env),
  manifestProbe: ManifestProbe | undefined = defaultManifestProbe(env),
  identityProbe: EngineIdentityProbe | undefined = defaultEngineIdentityProbe(env),
): ResolvedArgs {
  const given = Object.fromEntries(SECRET_KEYS.map((key) => [key, args[key]])) as Partial<Record<SecretKey, pulumi.Input<string>>>;
  const rest = Object.fromEntries(Object.entries(args).filter(([key]) => !(SECRET_KEYS as readonly string[]).includes(key)));
  const { plain, restore } = withRunOutputsSetAside(rest);
  const unreachable = engineProblems(plain.docker, engineProbe, env);
  const targeted = withEnvironmentDockerHost(plain, env);
  const settings = engineSettingProblems(plain.docker, gvisorKeys(plain));
  const answering =
    unreachable.length > 0 || settings.length > 0 ? [] : [...identityProblems(targeted, identityProbe, env), ...runtimeProblems(targeted, runtimesProbe, env)];
  const problems = [...outputProblems(plain), ...unreachable, ...settings, ...answering];
  if (plain.image?.registry?.username && given.registryPassword === undefined) {
    problems.push("registryPassword: image.registry.username is set but no password; run: pulumi config set --secret registryPassword <password>");
  }
  const present = secretsPresent(given);
  const config = restore(validateStackConfig(targeted as Record<string, unknown>, probe, homeDir, problems, present, manifestProbe));
  const secrets: StackSecrets = {};
  for (const key of SECRET_KEYS) {
    const value = given[key];
    if (value !== undefined) secrets[key] = pulumi.secret(value);
  }
  const caFile = config.image.extraCaCertsFile;
  const extraCaCerts = caFile ? pulumi.secret(probe.readText(caFile) ?? "") : undefined;
  return { config, secrets, extraCaCerts, protectedPaths: existingProtection(config, probe) };
}
