/**
 * When a stack pushes its image to a registry, every sandbox must run it pinned by digest: a tag can be
 * moved to other content by anyone who can push, a digest cannot. A stack-level rule, since only the whole
 * stack says whether it pushes. Pure: tests call it directly; policies.ts wraps it.
 */
import { ROLE_LABEL } from "../components/engine/naming";
import { asArray, asRecord, asString } from "./container-inputs";

export const REMOTE_IMAGE_TYPE = "docker:index/remoteImage:RemoteImage";
const CONTAINER_TYPE = "docker:index/container:Container";
const DIGEST_REFERENCE = /@sha256:[0-9a-f]{64}$/;
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

/** What the rule reads of a resource: its type, its name in the stack and its properties. */
export interface StackResource {
  readonly type: string;
  readonly name: string;
  readonly props: Record<string, unknown>;
}

/** True when the stack pushes an image: a multi-arch index, or a build with push on. */
export function pushesToRegistry(resources: readonly StackResource[]): boolean {
  return resources.some(
    (resource) => resource.type === "docker-build:index:Index" || (resource.type === "docker-build:index:Image" && resource.props.push === true),
  );
}

/** A sandbox container: a Container without a role label (the proxies beside it carry one). */
function isSandbox(resource: StackResource): boolean {
  if (resource.type !== CONTAINER_TYPE) return false;
  return !asArray(resource.props.labels).some((label) => asString(asRecord(label).label) === ROLE_LABEL);
}

/**
 * The sandboxes of a pushing stack whose image is not pinned by digest, as messages: a tag, or the image ID
 * of a RemoteImage looked up by a tag (the tag decided which content that is). Another image ID is
 * content-addressed already; a value not known yet (a preview) is left to `up`.
 */
export function unpinnedSandboxImages(resources: readonly StackResource[]): string[] {
  if (!pushesToRegistry(resources)) return [];
  const remoteImages = resources.filter((resource) => resource.type === REMOTE_IMAGE_TYPE);
  const pinnedIds = new Set(
    remoteImages.filter((image) => DIGEST_REFERENCE.test(asString(image.props.name) ?? "")).map((image) => asString(image.props.imageId)),
  );
  const taggedIds = new Map(
    remoteImages
      .filter((image) => !DIGEST_REFERENCE.test(asString(image.props.name) ?? ""))
      .map((image) => [asString(image.props.imageId), asString(image.props.name)]),
  );
  return resources.filter(isSandbox).flatMap((sandbox) => {
    const image = asString(sandbox.props.image);
    if (image === undefined || DIGEST_REFERENCE.test(image) || pinnedIds.has(image)) return [];
    const by = IMAGE_ID.test(image) ? (taggedIds.has(image) ? `image ${image}, looked up by the tag ${taggedIds.get(image)}` : undefined) : `image ${image}`;
    if (by === undefined) return [];
    return [
      `container ${sandbox.name} runs ${by}, but the stack pushes to a registry, where a tag can be moved to other content: run the image by its digest (repository@sha256:…), as the agent-sandbox component does with the pushed image's digest`,
    ];
  });
}
