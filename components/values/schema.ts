/**
 * The value syntaxes every config section shares: strict objects, whole numbers, Docker sizes, durations
 * and ages, object names and absolute paths, each a zod type whose every message shows a right value, and
 * the numbers the engine enforces. A leaf: it imports nothing of ours, so every domain may use it.
 */
import * as path from "node:path";
import { z } from "zod";

const SIZE_PATTERN = /^(\d+)([kmg])$/i;
const BYTES_PER_UNIT: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const BYTES_PER_MB = 1024 ** 2;

/** Docker refuses a memory limit under 6 MiB (the daemon's minimum) and reads 0 as "no limit at all". */
export const MIN_MEMORY_MB = 6;
/** Docker's smallest CPU quota: `--cpus` is refused below 0.01. */
export const MIN_CPUS = 0.01;

function sizeToBytes(size: string): number {
  const match = SIZE_PATTERN.exec(size);
  if (!match) throw new Error(`"${size}" is not a size`);
  return Number(match[1]) * BYTES_PER_UNIT[match[2].toLowerCase()];
}

/** True for a size in Docker's syntax ("8g", "512m"). */
export const isSize = (text: string): boolean => SIZE_PATTERN.test(text);

/** "8g" → 8192, "512m" → 512: Docker's own size syntax, in the MB unit the docker provider takes, rounded up (never toward 0, "no limit"). */
export function sizeToMegabytes(size: string): number {
  return Math.ceil(sizeToBytes(size) / BYTES_PER_MB);
}

/** A Docker size; `minimumMb` is the least the engine enforces (0: none, as for swap). */
export const size = (example: string, minimumMb = 0) =>
  z.string({ error: `must be a size like ${example}` }).superRefine((value, ctx) => {
    if (!SIZE_PATTERN.test(value)) {
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} is not a size; use ${example}` });
    } else if (minimumMb > 0 && sizeToBytes(value) === 0) {
      ctx.addIssue({
        code: "custom",
        message: `${JSON.stringify(value)} would remove the limit (Docker reads 0 as unlimited); use at least "${minimumMb}m", e.g. ${example}`,
      });
    } else if (sizeToBytes(value) < minimumMb * BYTES_PER_MB) {
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} is below ${minimumMb}m, the smallest limit Docker enforces; use e.g. ${example}` });
    }
  });

export const NAME_PATTERN = /^[a-z]([a-z0-9-]{0,29}[a-z0-9])?$/;
export const objectName = z
  .string({ error: 'must be a name like "main"' })
  .regex(NAME_PATTERN, { error: 'must be lowercase letters, digits and dashes, starting with a letter and not ending with a dash (e.g. "main")' });

export const absolutePath = (example: string) =>
  z.string({ error: `must be an absolute path like "${example}"` }).refine((value) => path.isAbsolute(value), {
    error: (issue) => `${JSON.stringify(issue.input)} is not an absolute path; use e.g. "${example}"`,
  });

/** A whole number followed by one of `units` (milliseconds each): its pattern, and its value in milliseconds. */
function timeSyntax(what: string, units: Record<string, number>) {
  const pattern = new RegExp(`^(\\d+)(${Object.keys(units).join("|")})$`);
  const toMilliseconds = (text: string): number => {
    const match = pattern.exec(text);
    if (!match) throw new Error(`"${text}" is not ${what}`);
    return Number(match[1]) * units[match[2]];
  };
  return { pattern, toMilliseconds };
}

const DURATION = timeSyntax("a duration", { ms: 1, s: 1000, m: 60_000 });
const DURATION_PATTERN = DURATION.pattern;

/** "15s" → 15000: the healthcheck duration syntax the config accepts. */
export const durationToMilliseconds = DURATION.toMilliseconds;

// Docker reads a zero healthcheck duration as "inherit": the image's (a 15s start period) or its own 30s default.
export const duration = (example: string) =>
  z
    .string({ error: `must be a duration like "${example}"` })
    .superRefine((value, ctx) => {
      if (!DURATION_PATTERN.test(value))
        ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} is not a duration; use e.g. "${example}" (units ms, s, m)` });
      else if (durationToMilliseconds(value) === 0) {
        ctx.addIssue({
          code: "custom",
          message: `${JSON.stringify(value)} would make Docker use the image's or its own default instead; use at least "1ms", e.g. "${example}"`,
        });
      }
    })
    .default(example);

const AGE = timeSyntax("an age", { m: 60_000, h: 3_600_000, d: 86_400_000 });
const AGE_PATTERN = AGE.pattern;

/** "72h" → 259200000: the age syntax of the refresh thresholds (minutes, hours, days). */
export const ageToMilliseconds = AGE.toMilliseconds;

/** How long something may live, at least one minute: "72h", "3d", "90m". */
export const age = (example: string) =>
  z.string({ error: `must be an age like "${example}"` }).superRefine((value, ctx) => {
    if (!AGE_PATTERN.test(value)) ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} is not an age; use e.g. "${example}" (units m, h, d)` });
    else if (ageToMilliseconds(value) === 0)
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} would make every sandbox due at once; use e.g. "${example}"` });
  });

/** A strict object whose unknown-key error lists the keys that are valid at that level (typos are the usual cause). */
export function strictObject<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? `unknown key (valid here: ${Object.keys(shape).join(", ")})` : undefined),
  });
}

/** A whole number with an example in every message, the type error included. */
export const count = (example: number, minimum: number, why = "", maximum = Number.MAX_SAFE_INTEGER) => {
  const range = maximum === Number.MAX_SAFE_INTEGER ? `of at least ${minimum}` : `from ${minimum} to ${maximum}`;
  const error = `must be a whole number ${range}${why ? ` (${why})` : ""}, e.g. ${example}`;
  return z.int({ error }).min(minimum, { error }).max(maximum, { error });
};
