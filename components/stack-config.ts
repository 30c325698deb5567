/**
 * Reads the stack's Pulumi config into a validated StackConfig plus its secrets. Nothing here declares a
 * resource, so a bad config fails before anything is created.
 */
import * as os from "node:os";
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { CONFIG_NAMESPACE, parseStackConfig, type StackConfig } from "./config";
import { ConfigError } from "./config-error";
import { hostProblems, listedSandboxKey, realHostProbe, shortcutSandboxKey, withHostDefaults, type HostProbe } from "./host-checks";
import type { StackIdentity } from "./naming";

/** Config keys that hold secrets: accepted only when stored with `pulumi config set --secret`. */
export const SECRET_KEYS = ["anthropicApiKey", "gitToken", "registryPassword"] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];
export type StackSecrets = Partial<Record<SecretKey, pulumi.Output<string>>>;

export interface LoadedStack {
  readonly identity: StackIdentity;
  readonly config: StackConfig;
  readonly secrets: StackSecrets;
  /** PEM text of `image.extraCaCertsFile`, as a secret: it reaches the build only as a BuildKit secret. */
  readonly extraCaCerts?: pulumi.Output<string>;
}

/** Structured values arrive as JSON text; plain strings (paths) stay as they are. */
function decodeConfigValue(text: string): unknown {
  if (!/^\s*[[{]/.test(text) && !/^(true|false|-?\d+(\.\d+)?)$/.test(text)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// The SDK exports isConfigSecret at runtime without typing it; older SDKs lack it, and then the check is skipped.
const isConfigSecret: ((key: string) => boolean) | undefined = (runtimeConfig as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;

/** Splits the namespace's raw config into plain values and secrets, refusing secrets stored in plain text. */
export function readRawConfig(all: Record<string, string>, isSecret?: (key: string) => boolean): { raw: Record<string, unknown>; secretProblems: string[] } {
  const raw: Record<string, unknown> = {};
  const secretProblems: string[] = [];
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [fullKey, text] of Object.entries(all)) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    if ((SECRET_KEYS as readonly string[]).includes(key)) {
      if (isSecret && !isSecret(fullKey)) {
        secretProblems.push(`${key}: is stored in plain text in the stack file; remove it and run: pulumi config set --secret ${key} <value>`);
      }
      continue;
    }
    raw[key] = decodeConfigValue(text);
  }
  return { raw, secretProblems };
}

/**
 * Schema, then the Docker host's facts (skipped for a remote engine, whose paths and CPUs cannot be read
 * from here), then the host's defaults; every problem, `extraProblems` included, in one ConfigError.
 */
export function validateStackConfig(raw: Record<string, unknown>, probe: HostProbe, homeDir: string, extraProblems: string[] = []): StackConfig {
  let config: StackConfig;
  try {
    config = parseStackConfig(raw, { homeDir });
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError([...error.problems, ...extraProblems]);
    throw error;
  }
  const remoteHost = config.docker && !config.docker.host.startsWith("unix://");
  const keyOf = raw.sandboxes === undefined ? shortcutSandboxKey : listedSandboxKey;
  const problems = [...extraProblems, ...(remoteHost ? [] : hostProblems(config, probe, homeDir, keyOf))];
  if (problems.length > 0) throw new ConfigError(problems);
  return remoteHost ? config : withHostDefaults(config, probe);
}

export function loadStackConfig(probe: HostProbe = realHostProbe): LoadedStack {
  const identity = { project: pulumi.getProject(), stack: pulumi.getStack() };
  const allConfig = pulumi.runtime.allConfig();
  const { raw, secretProblems } = readRawConfig(allConfig, isConfigSecret);
  const registry = (raw.image as { registry?: { username?: unknown } } | undefined)?.registry;
  if (registry?.username && !allConfig[`${CONFIG_NAMESPACE}:registryPassword`]) {
    secretProblems.push("registryPassword: image.registry.username is set but no password; run: pulumi config set --secret registryPassword <password>");
  }
  const config = validateStackConfig(raw, probe, os.homedir(), secretProblems);

  const pulumiConfig = new pulumi.Config(CONFIG_NAMESPACE);
  const secrets: StackSecrets = {};
  for (const key of SECRET_KEYS) {
    const value = pulumiConfig.getSecret(key);
    if (value !== undefined) secrets[key] = value;
  }
  const caFile = config.image.extraCaCertsFile;
  const extraCaCerts = caFile ? pulumi.secret(probe.readText(caFile) ?? "") : undefined;
  return { identity, config, secrets, extraCaCerts };
}
