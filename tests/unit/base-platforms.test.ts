import { describe, expect, it } from "vitest";
import { basePlatformProblems, manifestPlatforms } from "../../components/image/base-platforms";
import { imageSchema } from "../../components/image/config";

const INDEX = JSON.stringify({
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [
    { platform: { os: "linux", architecture: "amd64" } },
    { platform: { os: "linux", architecture: "arm64" } },
    { platform: { os: "unknown", architecture: "unknown" } },
  ],
});
const AMD64_ONLY_INDEX = JSON.stringify({ manifests: [{ platform: { os: "linux", architecture: "amd64" } }] });
const SINGLE = JSON.stringify({ mediaType: "application/vnd.docker.distribution.manifest.v2+json", config: { digest: "sha256:0" } });

const multiArch = (bases: Record<string, string> = {}) =>
  imageSchema.parse({ platforms: ["linux/amd64", "linux/arm64"], registry: { address: "ghcr.io" }, ...bases });

describe("the bases of a multi-arch build", () => {
  it("reads the platforms an index lists, leaving out attestations", () => {
    expect(manifestPlatforms(INDEX)).toEqual(["linux/amd64", "linux/arm64"]);
    expect(manifestPlatforms(SINGLE)).toEqual([]);
  });

  it("accepts bases whose manifests list every platform asked for", () => {
    expect(basePlatformProblems(multiArch(), () => INDEX)).toEqual([]);
  });

  it("refuses a single-platform base, naming the key, the platforms and how to check", () => {
    const manifests: Record<string, string> = { "127.0.0.1:5000/debian:slim": SINGLE, "node:22-bookworm-slim": AMD64_ONLY_INDEX };
    const problems = basePlatformProblems(multiArch({ baseImage: "127.0.0.1:5000/debian:slim" }), (ref) => manifests[ref]);
    expect(problems).toEqual([
      expect.stringMatching(
        /^image\.baseImage: "127\.0\.0\.1:5000\/debian:slim" is a single-platform image, but image\.platforms asks for linux\/amd64, linux\/arm64: .*docker buildx imagetools inspect 127\.0\.0\.1:5000\/debian:slim\)$/,
      ),
      expect.stringMatching(
        /^image\.builderImage: "node:22-bookworm-slim" lists only linux\/amd64, .*the linux\/arm64 variant would be built on another platform's base/,
      ),
    ]);
  });

  it("asks nothing of a one-platform build, and leaves an unreadable manifest to the build", () => {
    expect(basePlatformProblems(imageSchema.parse({}), () => SINGLE)).toEqual([]);
    expect(basePlatformProblems(multiArch(), () => undefined)).toEqual([]);
  });
});
