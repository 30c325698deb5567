/**
 * Everything about the agent image build that follows from config alone: the build arguments, one build
 * per platform with its tags, push/load and cache, and the multi-arch index tag. Pure; agent-image.ts
 * declares the resources.
 */
import type * as dockerbuild from "@pulumi/docker-build";
import { CacheMode } from "@pulumi/docker-build";
import { type Agent, type AgentProfile, DEFAULT_AGENT } from "../agents";
import type { StackIdentity } from "../engine/naming";
import { type ImageConfig, isMultiArch } from "./config";

/** One `docker-build` Image: which platform it targets and where its result goes. */
export interface PlatformBuild {
  readonly platform?: string;
  readonly tags: string[];
  readonly push: boolean;
  readonly load: boolean;
  readonly cacheFrom?: dockerbuild.types.input.CacheFromArgs[];
  readonly cacheTo?: dockerbuild.types.input.CacheToArgs[];
}

export interface ImageBuildPlan {
  readonly buildArgs: Record<string, string>;
  readonly builds: PlatformBuild[];
  /** Set for multi-arch images: the tag of the index joining the per-platform builds. */
  readonly indexTag?: string;
  /** Whether the final image lives in a registry (and so must be pulled by digest) or only in the local engine. */
  readonly pushed: boolean;
}

export const platformSuffix = (platform: string) => platform.split("/").slice(1).join("-");

/** Where the image is tagged: the registry repository when one is configured, else a local name. */
export function imageRepository(image: ImageConfig, identity: StackIdentity): string {
  if (image.registry) return `${image.registry.address}/${image.registry.repository}`;
  return `${identity.project}/agent`;
}

/** Each agent's image and each platform keeps a cache of its own (a build's cache export replaces the whole cache). */
function cacheFor(image: ImageConfig, agent: AgentProfile, platform: string | undefined): Pick<PlatformBuild, "cacheFrom" | "cacheTo"> {
  const cache = image.cache;
  if (!cache) return {};
  const suffix = `${agentSuffix(agent.name)}${platform ? `-${platformSuffix(platform)}` : ""}`;
  if (cache.type === "local") {
    const dir = `${cache.dir}${suffix}`;
    return { cacheFrom: [{ local: { src: dir } }], cacheTo: [{ local: { dest: dir, mode: CacheMode.Max } }] };
  }
  const ref = `${cache.ref}${suffix}`;
  return {
    cacheFrom: [{ registry: { ref } }],
    cacheTo: [{ registry: { ref, mode: CacheMode.Max, imageManifest: true, ociMediaTypes: true } }],
  };
}

/** The agent an image holds, and the text of its install script (components/agents/<agent>/image/install-cli.sh). */
export interface ImageAgent {
  readonly profile: AgentProfile;
  readonly installScript: string;
}

/**
 * What sets an agent's image apart in its resource name, tag and build cache: nothing for the default
 * agent, whose image keeps what stacks had before there were several (no replacement), `-<agent>` otherwise.
 */
export function agentSuffix(agent: string): string {
  return agent === DEFAULT_AGENT ? "" : `-${agent}`;
}

/** Everything about the build of one agent's image that follows from config alone. */
export function imageBuildPlan(image: ImageConfig, identity: StackIdentity, agent: ImageAgent): ImageBuildPlan {
  const repository = imageRepository(image, identity);
  const tag = `${repository}:${identity.stack}${agentSuffix(agent.profile.name)}`;
  const buildArgs = {
    BASE_IMAGE: image.baseImage,
    BUILDER_IMAGE: image.builderImage,
    AGENT_INSTALL: agent.installScript,
    AGENT_VERSION: image.agentVersions[agent.profile.name as Agent],
    AGENT_EXECUTABLE: agent.profile.executable,
    AGENT_UID: String(image.agentUid),
    AGENT_GID: String(image.agentGid),
    TOOLCHAINS: image.toolchains.join(" "),
  };
  if (isMultiArch(image)) {
    return {
      buildArgs,
      pushed: true,
      indexTag: tag,
      builds: image.platforms.map((platform) => ({
        platform,
        tags: [`${tag}-${platformSuffix(platform)}`],
        push: true,
        load: false,
        ...cacheFor(image, agent.profile, platform),
      })),
    };
  }
  const pushed = image.push;
  return {
    buildArgs,
    pushed,
    builds: [{ platform: image.platforms[0], tags: [tag], push: pushed, load: !pushed, ...cacheFor(image, agent.profile, undefined) }],
  };
}

/** Where the proxy image is pushed for a cluster: beside the agent's, tagged for the stack. */
export function proxyImageTag(image: ImageConfig, identity: StackIdentity): string {
  return `${imageRepository(image, identity)}:${identity.stack}-proxies`;
}
