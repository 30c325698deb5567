/**
 * How big the stack config is where it must fit: the Pulumi CLI's Node language host hands the program the
 * whole config in one environment variable, PULUMI_CONFIG, a JSON object of `<namespace>:config:<name>` to
 * the value's text (sdk/nodejs/cmd/pulumi-language-nodejs/main.go, constructConfig and execRuntime), and
 * Linux refuses to start a process with an environment string over MAX_ARG_STRLEN: `pulumi up` stops with
 * "fork/exec …/node: argument list too long" before the program can say anything.
 */

/** Linux's MAX_ARG_STRLEN (32 pages of 4 KiB): one environment string, `NAME=value` and its NUL. */
export const MAX_ENV_STRING_BYTES = 131072;

const VARIABLE = "PULUMI_CONFIG";

/**
 * Text as Go's encoding/json writes it: JSON.stringify's escapes, plus `<`, `>`, `&`, U+2028 and U+2029
 * as \u escapes (Go's HTML-safe default); other non-ASCII stays raw UTF-8, as in JSON.stringify.
 */
function goJsonString(text: string): string {
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A secret in a stack file is `{secure: <ciphertext>}`; its plaintext is shorter, so the ciphertext is an upper bound. */
function isSecure(value: unknown): value is { secure: string } {
  return typeof value === "object" && value !== null && Object.keys(value).length === 1 && typeof (value as { secure?: unknown }).secure === "string";
}

/**
 * A structured value as the engine writes its text: Go's json.Marshal of the decrypted value (config
 * Plaintext.marshalText in sdk/go/common/resource/config/plaintext.go): compact, keys sorted (which
 * changes no length). Numbers are written as JavaScript does; they agree with Go for the values config holds.
 */
function goJson(value: unknown): string {
  if (isSecure(value)) return goJsonString(value.secure);
  if (typeof value === "string") return goJsonString(value);
  if (Array.isArray(value)) return `[${value.map(goJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    return `{${Object.entries(value)
      .map(([key, inner]) => `${goJsonString(key)}:${goJson(inner)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A top-level value's text: a string (or a secret's) as it is, anything structured as JSON. */
function valueText(value: unknown): string {
  if (isSecure(value)) return value.secure;
  return typeof value === "string" ? value : goJson(value);
}

/** `agent-sandbox:runs` → `agent-sandbox:config:runs`: the old key form the language host still hands the program. */
const languageHostKey = (key: string): string => (key.includes(":config:") ? key : key.replace(":", ":config:"));

/** Bytes the PULUMI_CONFIG string takes for a stack file's `config:` map (keys with their namespace). */
export function pulumiConfigEnvBytes(config: Record<string, unknown>): number {
  const json = `{${Object.entries(config)
    .map(([key, value]) => `${goJsonString(languageHostKey(key))}:${goJsonString(valueText(value))}`)
    .join(",")}}`;
  return Buffer.byteLength(`${VARIABLE}=${json}`) + 1;
}

interface Contributor {
  readonly key: string;
  readonly bytes: number;
}

/** Every string of a value with its bytes in PULUMI_CONFIG: escaped once as JSON of the value, and again inside the outer string. */
function contributors(value: unknown, key: string, nested: boolean): Contributor[] {
  if (isSecure(value) || typeof value === "string") {
    const text = isSecure(value) ? value.secure : value;
    const inner = nested ? goJsonString(text) : text;
    return [{ key, bytes: Buffer.byteLength(goJsonString(inner)) - 2 }];
  }
  if (Array.isArray(value)) return value.flatMap((item, index) => contributors(item, `${key}[${index}]`, true));
  if (typeof value === "object" && value !== null) return Object.entries(value).flatMap(([name, inner]) => contributors(inner, `${key}.${name}`, true));
  return [];
}

/**
 * The problem of a stack file whose config would not fit in PULUMI_CONFIG, naming its biggest value and
 * the fix; undefined when it fits. Keys of `namespace` are named as the program names them (`runs[2].prompt`).
 */
export function configSizeProblem(config: Record<string, unknown>, namespace: string): string | undefined {
  const bytes = pulumiConfigEnvBytes(config);
  if (bytes <= MAX_ENV_STRING_BYTES) return undefined;
  const keyOf = (key: string) => (key.startsWith(`${namespace}:`) ? key.slice(namespace.length + 1) : key);
  const [biggest] = Object.entries(config)
    .flatMap(([key, value]) => contributors(value, keyOf(key), false))
    .sort((a, b) => b.bytes - a.bytes);
  const prompt = /^runs\[(\d+)\]\.prompt$/.exec(biggest.key);
  const fix = prompt
    ? `put the prompt in a file and set runs[${prompt[1]}].promptFile: <path of the file> instead of runs[${prompt[1]}].prompt`
    : "make it smaller or move it out of the stack config";
  return `${biggest.key}: the stack config would be ${bytes} bytes in ${VARIABLE}, the one environment variable the Pulumi CLI hands the program, and Linux refuses one over ${MAX_ENV_STRING_BYTES} bytes (pulumi stops with "argument list too long"); this value is ${biggest.bytes} bytes of it; ${fix}`;
}
