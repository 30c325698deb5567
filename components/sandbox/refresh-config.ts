/**
 * The `refresh` section of the stack config: when `npm run status` reports a sandbox as due for
 * `npm run refresh` (a new container; the home volume and the workspace stay).
 */
import type { z } from "zod";
import { ConfigError, describeIssue } from "../values/config-error";
import { age, count, strictObject } from "../values/schema";

export const refreshSchema = strictObject({
  maxAge: age("72h").default("72h"),
  maxDiskPercent: count(80, 1, "percent of the workspace disk", 100).default(80),
  maxMemoryPercent: count(90, 1, "percent of the memory limit", 100).default(90),
}).prefault({});

export type RefreshConfig = z.infer<typeof refreshSchema>;

/**
 * The stack config's refresh thresholds alone, with the messages of the whole schema: the ops scripts
 * (`npm run status`, `npm run refresh`) need them without judging the rest of the config.
 */
export function parseRefreshConfig(raw: Record<string, unknown>): RefreshConfig {
  const parsed = refreshSchema.safeParse(raw.refresh);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.flatMap((issue) => describeIssue(issue, ["refresh"])));
  return parsed.data;
}
