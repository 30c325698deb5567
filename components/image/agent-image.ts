/**
 * The agent image: built from docker/agent with @pulumi/docker-build, for the engine's platform (loaded
 * into the local engine) or for several platforms (one build per platform joined into a multi-arch index,
 * the provider's documented way to keep per-platform build cache). Sandboxes run the image ID resolved
 * through docker.RemoteImage, so a rebuilt image replaces sandboxes and an unchanged one does not.
 */
import * as docker from "@pulumi/docker";
import * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import type { StackIdentity } from "../engine/naming";
import { type ImageAgent, imageBuildPlan, platformSuffix } from "./build-plan";
import type { ImageConfig } from "./config";

export interface AgentImageArgs {
  /** Validated `image` stack config. */
  readonly image: ImageConfig;
  /** The agent whose CLI the image holds. */
  readonly agent: ImageAgent;
  readonly identity: StackIdentity;
  /** Folder holding the Dockerfile, relative to the project so every checkout declares the same inputs. */
  readonly contextDir: string;
  /** Password for `image.registry` (a Pulumi secret). */
  readonly registryPassword?: pulumi.Input<string>;
  /** PEM text of extra CA certificates, handed to the build as the `extra_ca` secret (never a layer). */
  readonly extraCaCerts?: pulumi.Input<string>;
}

export class AgentImage extends pulumi.ComponentResource {
  /** Tags the image was given. */
  public readonly tags: pulumi.Output<string[]>;
  /** Manifest digest of the image (of the index for multi-arch builds). */
  public readonly digest: pulumi.Output<string>;
  /** `repository:tag@sha256:…` when pushed, else the local tag. */
  public readonly ref: pulumi.Output<string>;
  /** The immutable image ID (`sha256:…`) sandboxes run. */
  public readonly imageId: pulumi.Output<string>;

  constructor(name: string, args: AgentImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-sandbox:index:AgentImage", name, {}, opts);
    const plan = imageBuildPlan(args.image, args.identity, args.agent);
    const registry = args.image.registry;
    const registries =
      registry?.username && args.registryPassword ? [{ address: registry.address, username: registry.username, password: args.registryPassword }] : undefined;
    const secrets = args.extraCaCerts ? { extra_ca: pulumi.secret(args.extraCaCerts) } : undefined;

    const builds = plan.builds.map(
      (build) =>
        new dockerbuild.Image(
          build.platform && plan.indexTag ? `${name}-${platformSuffix(build.platform)}` : name,
          {
            context: { location: args.contextDir },
            dockerfile: { location: `${args.contextDir}/Dockerfile` },
            platforms: build.platform ? [build.platform as dockerbuild.Platform] : undefined,
            buildArgs: plan.buildArgs,
            secrets,
            tags: build.tags,
            push: build.push,
            load: build.load,
            cacheFrom: build.cacheFrom,
            cacheTo: build.cacheTo,
            registries,
          },
          { parent: this },
        ),
    );

    let digest: pulumi.Output<string>;
    let ref: pulumi.Output<string>;
    if (plan.indexTag) {
      const index = new dockerbuild.Index(
        `${name}-index`,
        { tag: plan.indexTag, sources: builds.map((build) => build.ref), push: true, registry: registries?.[0] },
        { parent: this },
      );
      digest = index.ref.apply((indexRef) => indexRef.split("@")[1] ?? "");
      ref = index.ref;
    } else {
      digest = builds[0].digest;
      ref = plan.pushed ? builds[0].ref : pulumi.output(plan.builds[0].tags[0]);
    }

    // RemoteImage looks the name up in the engine first and pulls only when absent, so a locally loaded
    // image resolves without a registry; a new digest replaces it, and with it every sandbox.
    const resolved = new docker.RemoteImage(
      `${name}-resolved`,
      {
        name: ref,
        keepLocally: true,
        pullTriggers: [digest],
      },
      { parent: this },
    );

    this.tags = pulumi.output(plan.indexTag ? [plan.indexTag] : plan.builds.flatMap((build) => build.tags));
    this.digest = digest;
    this.ref = ref;
    this.imageId = resolved.imageId;
    this.registerOutputs({ tags: this.tags, digest: this.digest, ref: this.ref, imageId: this.imageId });
  }
}
