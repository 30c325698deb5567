/**
 * The proxies' image (Squid for the egress proxy, nginx for the credential proxy), built once per stack from
 * docker/proxies on the project's own base image. It only ever runs on the target engine, next to the sandboxes, so it is built for that engine's platform
 * and loaded there: no registry, no multi-arch index, no build cache export.
 */
import * as docker from "@pulumi/docker";
import * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import type { StackIdentity } from "../engine/naming";

/** Debian's `proxy` user, created by the squid package with this fixed UID/GID (base-passwd): both proxies run as it. */
export const PROXY_USER = "13:13";
export const PROXY_UID = 13;

/** Both proxies' health check timings. Docker before 25 runs the first check only after one interval; the check is one local request, so a short one is cheap. */
export const PROXY_HEALTHCHECK = { interval: "5s", timeout: "5s", startPeriod: "5s", retries: 3 };

export interface ProxyImageArgs {
  readonly identity: StackIdentity;
  /** Base image (the stack's `image.baseImage`); the Dockerfile installs Debian's squid on it. */
  readonly baseImage: string;
  /** Folder holding the Dockerfile, relative to the project: "docker/proxies". */
  readonly contextDir: string;
  /** PEM text of extra CA certificates for apt behind a TLS-intercepting proxy; the `extra_ca` build secret, never a layer. */
  readonly extraCaCerts?: pulumi.Input<string>;
  /** A registry tag to push to instead of loading into the engine: for a cluster, which pulls it by digest. */
  readonly pushTo?: string;
}

/** Local tag of the proxy image: one per project and stack. */
export function egressProxyImageTag(identity: StackIdentity): string {
  return `${identity.project}/egress-proxy:${identity.stack}`;
}

export class ProxyImage extends pulumi.ComponentResource {
  /** The immutable image ID (`sha256:…`) the proxies run; a rebuild changes it and so replaces them. */
  public readonly imageId: pulumi.Output<string>;
  /** `repository:tag@sha256:…` when pushed, else the local tag. */
  public readonly ref: pulumi.Output<string>;

  constructor(name: string, args: ProxyImageArgs, opts?: pulumi.ComponentResourceOptions) {
    // The type token and the tag keep the egress proxy's name, which this image had first: stacks keep their state.
    super("agent-sandbox:index:EgressProxyImage", name, {}, opts);
    const tag = args.pushTo ?? egressProxyImageTag(args.identity);
    const build = new dockerbuild.Image(
      name,
      {
        context: { location: args.contextDir },
        dockerfile: { location: `${args.contextDir}/Dockerfile` },
        buildArgs: { BASE_IMAGE: args.baseImage },
        secrets: args.extraCaCerts ? { extra_ca: pulumi.secret(args.extraCaCerts) } : undefined,
        tags: [tag],
        push: args.pushTo !== undefined,
        load: args.pushTo === undefined,
      },
      { parent: this },
    );
    if (args.pushTo !== undefined) {
      // A cluster runs it: it pulls the pushed image by digest, and the engine never holds it.
      this.imageId = build.digest;
      this.ref = build.ref;
    } else {
      // Looked up in the engine (the image was just loaded there, nothing is pulled); a new digest re-reads it.
      const resolved = new docker.RemoteImage(`${name}-resolved`, { name: tag, keepLocally: true, pullTriggers: [build.digest] }, { parent: this });
      this.imageId = resolved.imageId;
      this.ref = pulumi.output(tag);
    }
    this.registerOutputs({ imageId: this.imageId, ref: this.ref });
  }
}
