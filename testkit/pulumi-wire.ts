/**
 * What Pulumi's mock monitor exchanges with a program, shared by the unit tests' mock program and the live
 * harness: the wire form of secrets, and stack config as `pulumi config set` stores it.
 */

/** Key and value of the marker Pulumi's RPC layer puts on secret values (runtime/rpc.js `specialSecretSig`). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Whether a value is a secret in its wire wrapper `{[SIG_KEY]: SECRET_SIG, value}`. */
export function isSecretWrapper(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/**
 * Removes every secret wrapper, however deep. Under mocks a secret input arrives as
 * `{[SIG_KEY]: SECRET_SIG, value}`, and a secret inside a list or object is hoisted to wrap the whole
 * top-level property (deserializeProperty pushes secretness up), so a plain `inputs.envs` may be an object.
 */
export function reveal(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reveal);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (isSecretWrapper(record)) return reveal(record.value);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, reveal(v)]));
  }
  return value;
}

/** Marks a config value as a secret (`pulumi config set --secret`). */
class SecretConfig {
  constructor(readonly value: unknown) {}
}
export const secretConfig = (value: unknown): SecretConfig => new SecretConfig(value);

/**
 * The arguments of `pulumi.runtime.setAllConfig`: keys without a namespace get `<project>:`, objects are
 * JSON-encoded (as `pulumi config set --path` stores them), and values wrapped with secretConfig() are
 * listed as secret keys.
 */
export function configEntries(project: string, config: Record<string, unknown>): { values: Record<string, string>; secretKeys: string[] } {
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [rawKey, rawValue] of Object.entries(config)) {
    const key = rawKey.includes(":") ? rawKey : `${project}:${rawKey}`;
    const value = rawValue instanceof SecretConfig ? rawValue.value : rawValue;
    if (rawValue instanceof SecretConfig) secretKeys.push(key);
    values[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { values, secretKeys };
}
