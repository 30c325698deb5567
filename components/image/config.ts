/**
 * The image section of the stack config (`image`): its zod schema with every key's default and message,
 * the rules across its keys (a multi-arch build needs a registry), and the check of its one host file.
 */
import { z } from "zod";
import { AGENT_PROFILES, type Agent } from "../agents";
import type { HostProbe } from "../values/host-probe";
import { absolutePath, count, strictObject } from "../values/schema";

/** Platforms the agent image can be built for: the agent CLIs ship native binaries for these two only. */
export const Platform = {
  LinuxAmd64: "linux/amd64",
  LinuxArm64: "linux/arm64",
} as const;
export type Platform = (typeof Platform)[keyof typeof Platform];

/** Where the image build keeps its cache. */
export const BuildCacheType = {
  /** A folder on the machine running Pulumi (`dir`). */
  Local: "local",
  /** A registry reference (`ref`), next to the image. */
  Registry: "registry",
} as const;
export type BuildCacheType = (typeof BuildCacheType)[keyof typeof BuildCacheType];

/** The largest UID/GID Linux holds: 2^32 - 1 is reserved as "no ID". */
const MAX_ID = 2 ** 32 - 2;

const registrySchema = strictObject({
  address: z
    .string()
    .regex(/^[a-z0-9.-]+(:\d+)?$/i, { error: 'must be a registry host like "ghcr.io" or "127.0.0.1:5000" (no scheme, no path)' })
    .refine(
      (address) => {
        const port = Number(address.split(":")[1] ?? 443);
        return port >= 1 && port <= 65535;
      },
      { error: 'has a port outside 1-65535; use e.g. "127.0.0.1:5000"' },
    ),
  repository: z
    .string()
    .regex(/^[a-z0-9]+([._/-][a-z0-9]+)*$/, { error: 'must be a lowercase repository path like "my-team/agent-sandbox"' })
    .default("agent-sandbox/agent"),
  username: z.string().min(1).optional(),
});

const cacheSchema = z.discriminatedUnion("type", [
  strictObject({ type: z.literal(BuildCacheType.Local), dir: absolutePath("/home/me/.cache/agent-sandbox") }),
  strictObject({ type: z.literal(BuildCacheType.Registry), ref: z.string().min(1) }),
]);

/** One exact release per agent CLI, each defaulting to the release this package was tested with. */
const agentVersionsSchema = strictObject(
  Object.fromEntries(
    Object.values(AGENT_PROFILES).map((agent) => [
      agent.name,
      z
        .string()
        .regex(/^\d+\.\d+\.\d+$/, { error: `must be an exact version like "${agent.defaultVersion}"` })
        .default(agent.defaultVersion),
    ]),
  ) as Record<Agent, z.ZodDefault<z.ZodString>>,
).prefault({});

export const imageSchema = strictObject({
  baseImage: z.string().min(1).default("debian:bookworm-slim"),
  builderImage: z.string().min(1).default("node:22-bookworm-slim"),
  agentVersions: agentVersionsSchema,
  toolchains: z.array(z.string().regex(/^[a-z0-9][a-z0-9.+-]*$/, { error: 'must be a Debian package name like "python3"' })).default([]),
  agentUid: count(1000, 1, "a non-root UID; see runAsRoot to run as root", MAX_ID).default(1000),
  agentGid: count(1000, 1, "a non-root GID", MAX_ID).default(1000),
  platforms: z.array(z.enum(Platform)).default([]),
  registry: registrySchema.optional(),
  push: z.boolean().default(false),
  cache: cacheSchema.optional(),
  extraCaCertsFile: absolutePath("/etc/ssl/certs/ca-certificates.crt").optional(),
}).prefault({});

export type ImageConfig = z.infer<typeof imageSchema>;

/** True when the image is built for several platforms and so must be pushed as a multi-arch index. */
export function isMultiArch(image: ImageConfig): boolean {
  return image.platforms.length > 1;
}

/** Fields as they may arrive at an always-run refinement: possibly wrong types, so read defensively. */
type LooseImage = { [K in keyof ImageConfig]?: unknown };

export function imageRegistryRules(image: LooseImage, ctx: z.RefinementCtx): void {
  const platforms = Array.isArray(image.platforms) ? image.platforms.map(String) : [];
  if (new Set(platforms).size !== platforms.length) {
    ctx.addIssue({ code: "custom", path: ["platforms"], message: `lists a platform twice (${platforms.join(", ")})` });
  }
  if (image.registry !== undefined) return;
  if (platforms.length > 1) {
    ctx.addIssue({
      code: "custom",
      path: ["registry"],
      message: `building for ${platforms.length} platforms (${platforms.join(", ")}) makes a multi-arch image, which only a registry can hold; set image.registry: {address: "ghcr.io", repository: "my-team/agent-sandbox", username: "me"} and pulumi config set --secret registryPassword <password>`,
    });
  }
  if (image.push === true) ctx.addIssue({ code: "custom", path: ["push"], message: 'pushing needs image.registry (e.g. {address: "127.0.0.1:5000"})' });
  const cache = image.cache as { type?: unknown } | undefined;
  if (cache?.type === "registry") ctx.addIssue({ code: "custom", path: ["cache"], message: "a registry cache needs image.registry for its credentials" });
}

/** The image's host file: `extraCaCertsFile` must be a readable PEM bundle on the machine running Pulumi. */
export function imageHostProblems(image: ImageConfig, probe: Pick<HostProbe, "readText">): string[] {
  const caFile = image.extraCaCertsFile;
  if (!caFile) return [];
  const pem = probe.readText(caFile);
  if (pem === undefined) return [`image.extraCaCertsFile: "${caFile}" cannot be read; give a readable PEM file`];
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) return [`image.extraCaCertsFile: "${caFile}" holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`];
  return [];
}
