/** The image section of the component's arguments (`image`), documented: what each key means and its default. */
import type { BuildCacheType } from "./config";

/** The agent images, built from the package's docker/agent, one per agent the stack's sandboxes run. */
export interface ImageArgs {
  /** Runtime base of the image (default "debian:bookworm-slim"). */
  readonly baseImage?: string;
  /** Build stage base; it needs npm to fetch the agent CLI (default "node:22-bookworm-slim"). */
  readonly builderImage?: string;
  /** Exact release of each agent CLI, by agent, e.g. { claude: "2.1.330" }, so every developer runs the same agent (default: the release this package was tested with). */
  readonly agentVersions?: Record<string, string>;
  /** Debian packages added to the image, e.g. ["python3", "nodejs"]. */
  readonly toolchains?: string[];
  /** UID of the agent user, not 0: match your host user so files the agent writes stay yours (default 1000). */
  readonly agentUid?: number;
  /** GID of the agent user, not 0 (default 1000). */
  readonly agentGid?: number;
  /** "linux/amd64" and/or "linux/arm64" (values of Platform). Empty: the engine's own platform. Two: a multi-arch image, pushed to `registry`. */
  readonly platforms?: string[];
  /** Where the image is pushed. */
  readonly registry?: RegistryArgs;
  /** Push to `registry` (always on for multi-arch builds). */
  readonly push?: boolean;
  /** Build cache. */
  readonly cache?: BuildCacheArgs;
  /** A PEM bundle of extra CA certificates (e.g. a corporate TLS proxy) on this machine, passed to the build as a secret. */
  readonly extraCaCertsFile?: string;
}

/** An image registry. */
export interface RegistryArgs {
  /** Registry host (and port), e.g. "ghcr.io" or "127.0.0.1:5000". */
  readonly address: string;
  /** Repository path under the registry (default "agent-sandbox/agent"). */
  readonly repository?: string;
  /** User for the registry; the password is `registryPassword`. */
  readonly username?: string;
}

/** Where the image build keeps its cache: `dir` for type local, `ref` for type registry. */
export interface BuildCacheArgs {
  /** local (a folder, `dir`) or registry (a reference, `ref`). */
  readonly type: BuildCacheType;
  /** Absolute folder of a local cache. */
  readonly dir?: string;
  /** Registry reference of a registry cache, e.g. "ghcr.io/my-team/agent-sandbox:cache". */
  readonly ref?: string;
}
