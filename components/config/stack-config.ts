/**
 * Reads the stack's Pulumi config (keys under `agent-sandbox:`) into AgentSandboxesArgs. Secrets must be
 * stored as secrets; a plain one is refused together with every other problem of the config.
 */
import * as os from "node:os";
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { type HostProbe, realHostProbe } from "../values/host-probe";
import type { AgentSandboxesArgs } from "./args";
import { SECRET_KEYS, validateStackConfig } from "./resolve-args";
import { CONFIG_NAMESPACE } from "./stack-schema";

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

/** The stack's config as the component's arguments; the component validates them. */
export function stackArgs(probe: HostProbe = realHostProbe): AgentSandboxesArgs {
  const { raw, secretProblems } = readRawConfig(pulumi.runtime.allConfig(), isConfigSecret);
  // Refused with every other problem of the config, so one run lists them all.
  if (secretProblems.length > 0) validateStackConfig(raw, probe, os.homedir(), secretProblems);
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  const secrets = Object.fromEntries(
    SECRET_KEYS.flatMap((key) => {
      const value = config.getSecret(key);
      return value === undefined ? [] : [[key, value]];
    }),
  );
  return { ...raw, ...secrets } as AgentSandboxesArgs;
}
