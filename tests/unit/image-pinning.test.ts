import { describe, expect, it } from "vitest";
import { REMOTE_IMAGE_TYPE, type StackResource, unpinnedSandboxImages } from "../../policy/image-pinning";

const ID = `sha256:${"a".repeat(64)}`;
const PROXY_ID = `sha256:${"b".repeat(64)}`;
const DIGEST = `ghcr.io/team/agent:dev@sha256:${"c".repeat(64)}`;
const container = (name: string, image: string | undefined, role?: string): StackResource => ({
  type: "docker:index/container:Container",
  name,
  props: { image, labels: role ? [{ label: "dev.agent-sandbox.role", value: role }] : [] },
});
const remote = (name: string, imageId: string | undefined): StackResource => ({ type: REMOTE_IMAGE_TYPE, name: "x", props: { name, imageId } });
const pushedBuild: StackResource = { type: "docker-build:index:Image", name: "agent", props: { push: true } };

describe("image-pinned-by-digest", () => {
  it("accepts a pushing stack whose sandboxes run the image looked up by digest, its proxies' local image aside", () => {
    expect(
      unpinnedSandboxImages([
        pushedBuild,
        remote(DIGEST, ID),
        remote("agent-sandbox/egress-proxy:dev", PROXY_ID),
        container("main", ID),
        container("main-egress", PROXY_ID, "egress-proxy"),
      ]),
    ).toEqual([]);
  });

  it("refuses a sandbox of a pushing stack that runs a tag, or the image a tag was looked up by", () => {
    expect(unpinnedSandboxImages([pushedBuild, container("main", "ghcr.io/team/agent:dev")])).toEqual([
      expect.stringMatching(/^container main runs image ghcr\.io\/team\/agent:dev, but the stack pushes to a registry/),
    ]);
    expect(
      unpinnedSandboxImages([{ type: "docker-build:index:Index", name: "i", props: {} }, remote("ghcr.io/team/agent:dev", ID), container("main", ID)]),
    ).toEqual([expect.stringMatching(/looked up by the tag ghcr\.io\/team\/agent:dev/)]);
  });

  it("asks nothing of a stack that does not push, nor of an image not known yet", () => {
    expect(
      unpinnedSandboxImages([{ type: "docker-build:index:Image", name: "agent", props: { push: false } }, container("main", "agent-sandbox/agent:dev")]),
    ).toEqual([]);
    expect(unpinnedSandboxImages([pushedBuild, container("main", undefined)])).toEqual([]);
  });
});
