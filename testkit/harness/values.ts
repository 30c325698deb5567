/**
 * Helpers for the values the mock monitor hands to `newResource` (secrets are unwrapped before, with
 * testkit/pulumi-wire.ts): unmapped-field guards, Go-compatible parsing of the provider's string
 * units, and a stable comparison of inputs between deploys.
 */

/** Inputs of one resource with secrets revealed; absent fields are absent (the SDK drops `undefined`). */
export type Inputs = Record<string, unknown>;

/**
 * Throws for any field the harness does not realize. A silently ignored field would make a live test
 * prove a setting that never reached the engine.
 */
export function rejectUnmapped(where: string, value: Inputs, supported: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (value[key] !== undefined && !supported.includes(key)) {
      throw new Error(
        `harness does not map ${where}.${key} (value ${JSON.stringify(value[key])}); ` +
          `map it in testkit/harness/ (see MAPPING.md) or remove it from the program`,
      );
    }
  }
}

/** Stable JSON (sorted keys) so two deploys' inputs compare equal whatever the property order. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

const DURATION_UNITS_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * Go's time.ParseDuration ("1m30s", "500ms", "0"), returning nanoseconds. The provider validates healthcheck
 * durations with the same parser (validateDurationGeq0), so an unparsable value is a plan-time error there.
 */
export function parseGoDuration(field: string, text: string): number {
  if (text === "0") return 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(text); match; match = part.exec(text)) {
    total += Number(match[1]) * DURATION_UNITS_NS[match[2]];
    consumed = part.lastIndex;
  }
  if (text.length === 0 || consumed !== text.length) {
    throw new Error(`'${text}' is not a valid duration (${field}); use Go duration syntax such as "5s" or "1m30s"`);
  }
  return Math.round(total);
}

/**
 * docker/cli opts.ParseCPUs: a rational number of CPUs times 1e9 that must come out whole.
 * Only decimal notation is accepted here; the provider's big.Rat would also take "3/2".
 */
export function parseCpus(text: string): number {
  const match = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!match || text === "" || text === ".") {
    throw new Error(`Error setting cpus: failed to parse ${text} as a rational number (use a decimal such as "1.5")`);
  }
  const fraction = (match[2] ?? "").replace(/0+$/, "");
  if (fraction.length > 9) throw new Error(`Error setting cpus: value is too precise (${text})`);
  return Number(match[1] || "0") * 1e9 + Number(fraction.padEnd(9, "0") || "0");
}

/** `[{label, value}]`, the provider's label shape, to the engine's map (labelSetToMap). */
export function labelMap(labels: unknown): Record<string, string> {
  return Object.fromEntries(((labels ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value]));
}

/** The provider's autonaming (SetAutonaming(255, "-")): logical name, a dash, 7 random hex characters. */
export function autoName(logicalName: string): string {
  return `${logicalName}-${Math.random().toString(16).slice(2, 9).padEnd(7, "0")}`;
}
