/**
 * A multi-arch build runs every stage once per platform on the base it names, so a base image that holds
 * one platform gives every variant that platform's binaries (an "arm64" image of amd64 programs). Its
 * manifest is read before anything is declared, and a base whose manifest does not list every platform
 * asked for is refused, naming the key and the fix.
 */
import { spawnSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { engineClient } from "../engine/client";
import { SKIP_ENGINE_CHECK } from "../engine/engine-check";
import { type ImageConfig, isMultiArch } from "./config";

/** The raw manifest (or index) of an image reference, or undefined when it cannot be read (the build then reports). */
export type ManifestProbe = (ref: string) => string | undefined;

/** A manifest comes from the registry, not an engine: the local CLI reads it, with the registry logins of this machine's environment. */
const LOCAL = engineClient();

export const realManifestProbe: ManifestProbe = (ref) => {
  const result = spawnSync(LOCAL.cli, LOCAL.manifestArgs(ref, true), { encoding: "utf8", timeout: 60_000 });
  return result.status === 0 ? result.stdout : undefined;
};

/** The probe a real deployment uses; none under Pulumi's mocks or with the engine check switched off. */
export function defaultManifestProbe(env: NodeJS.ProcessEnv = process.env): ManifestProbe | undefined {
  if (env[SKIP_ENGINE_CHECK] === "1") return undefined;
  return pulumi.runtime.getMonitor() instanceof MockMonitor ? undefined : realManifestProbe;
}

interface RawManifest {
  readonly manifests?: { readonly platform?: { readonly os?: string; readonly architecture?: string; readonly variant?: string } }[];
}

/** The platforms an index or manifest list names (`linux/arm64`); none for a single image's manifest. */
export function manifestPlatforms(raw: string): string[] {
  const manifests = (JSON.parse(raw) as RawManifest).manifests ?? [];
  return manifests
    .map((entry) => entry.platform)
    .filter((platform) => platform?.os && platform.architecture && platform.os !== "unknown")
    .map((platform) => `${platform!.os}/${platform!.architecture}`);
}

/** The bases of a multi-arch build whose manifests lack a platform asked for, as problems. */
export function basePlatformProblems(image: ImageConfig, probe: ManifestProbe | undefined): string[] {
  if (!probe || !isMultiArch(image)) return [];
  const bases = [
    ["image.baseImage", image.baseImage],
    ["image.builderImage", image.builderImage],
  ] as const;
  return bases.flatMap(([key, ref]) => {
    const raw = probe(ref);
    if (raw === undefined) return [];
    let offered: string[];
    try {
      offered = manifestPlatforms(raw);
    } catch {
      return [];
    }
    const missing = image.platforms.filter((platform) => !offered.includes(platform));
    if (missing.length === 0) return [];
    const holds = offered.length === 0 ? "is a single-platform image" : `lists only ${offered.join(", ")}`;
    return [
      `${key}: "${ref}" ${holds}, but image.platforms asks for ${image.platforms.join(", ")}: the ${missing.join(", ")} variant would be built on another platform's base and hold its binaries; use a base whose manifest lists every platform (check it with: ${[LOCAL.cli, ...LOCAL.manifestArgs(ref, false)].join(" ")})`,
    ];
  });
}
