/**
 * What counts as a credential in a sandbox's environment, and where the stack's credentials live: shared by
 * the stack config (which refuses such variables) and the policy pack (which refuses a sandbox container
 * holding any of them, unless acknowledged). Pure: no Pulumi import.
 */
import { API_PROVIDERS } from "../agents";
import { STACK_OBJECTS } from "../engine/naming";

/**
 * What the sandbox's agent gets instead of a key under `auth: proxy`: the CLI insists on having one, and
 * the credential proxy replaces it. The one value a key-looking variable may hold.
 */
export const PLACEHOLDER_KEY = "added-by-credential-proxy";

/** Variable names that hold secrets by convention. */
const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD)$/i;

/** Values in the formats of well-known keys and tokens, whatever the variable is called. */
const KEY_FORMATS: readonly RegExp[] = [
  ...Object.values(API_PROVIDERS).flatMap((provider) => provider.keyFormats),
  /^gh[pousr]_[A-Za-z0-9]{20,}/,
  /^github_pat_/,
  /^glpat-/,
  /^xox[abprs]-/,
  /^AKIA[0-9A-Z]{16}$/,
  /^-----BEGIN [A-Z ]*PRIVATE KEY-----/,
];

/** True when a variable looks like it carries a secret: by its name with a value, or by a value's format. */
export function looksLikeSecretEnv(name: string, value: string): boolean {
  if (value === "" || value === PLACEHOLDER_KEY) return false;
  return SECRET_NAME.test(name) || KEY_FORMATS.some((format) => format.test(value));
}

/** The role label value (naming.ts ROLE_LABEL) of a credential proxy container. */
export const CREDENTIAL_PROXY_ROLE = "credential-proxy";

/** The stack's volumes holding its secrets, by the end of their physical names (`<project>-<stack>-credentials`). */
export const CREDENTIAL_VOLUME_SUFFIXES: readonly string[] = [STACK_OBJECTS.credentials.name, STACK_OBJECTS.proxySecrets.name].map((name) => `-${name}`);
