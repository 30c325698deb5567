import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import type Docker from "dockerode";
import { BUILD_CLI, BUILD_ENV } from "../live/engine";
import { engine, isNotFound, type Tracked } from "./state";
import { type Inputs, rejectUnmapped } from "./values";

const run = promisify(execFile);

/**
 * findImage (resource_docker_image_funcs.go): inspect by name, accept it only if it is among the listed
 * (non-intermediate) images, otherwise pull, then look again. Local first: nothing is pulled if present.
 */
export async function findImage(name: string): Promise<Docker.ImageInfo> {
  if (name === "") throw new Error("empty image name is not allowed");
  const local = await searchLocalImages(name);
  if (local) return local;
  await pullImage(name);
  const pulled = await searchLocalImages(name);
  if (!pulled) throw new Error(`unable to find or pull image ${name}`);
  return pulled;
}

async function searchLocalImages(name: string): Promise<Docker.ImageInfo | undefined> {
  let id: string;
  try {
    id = (await engine.getImage(name).inspect()).Id;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw new Error(`unable to inspect image ${name}: ${(error as Error).message}`);
  }
  return (await engine.listImages({ all: false })).find((image) => image.Id === id);
}

async function pullImage(name: string): Promise<void> {
  try {
    const stream = await engine.pull(name);
    await new Promise<void>((done, fail) => engine.modem.followProgress(stream, (error: Error | null) => (error ? fail(error) : done())));
  } catch (error) {
    throw new Error(`unable to pull image ${name}: ${(error as Error).message}`);
  }
}

/** determineRepoDigest (data_source_docker_image.go): the one digest, or the one whose repo matches the name. */
function repoDigest(name: string, image: Docker.ImageInfo): string {
  const digests = image.RepoDigests ?? [];
  if (digests.length <= 1) return digests[0] ?? "";
  const repo = name.includes(":") ? name.slice(0, name.indexOf(":")) : name;
  return digests.find((d) => d.startsWith(repo)) ?? "";
}

const REMOTE_IMAGE_FIELDS = ["name", "keepLocally", "forceRemove", "platform", "pullTriggers", "triggers"];

/**
 * docker.RemoteImage. Its real delete untags the image unless keepLocally; the harness never removes images
 * (the engine is shared and base images are expensive to rebuild), so destroy is a no-op.
 */
export async function realizeRemoteImage(name: string, inputs: Inputs): Promise<Tracked> {
  rejectUnmapped("remoteImage", inputs, REMOTE_IMAGE_FIELDS);
  if (inputs.platform) throw new Error("harness does not map remoteImage.platform (pull by platform)");
  const imageName = String(inputs.name);
  const image = await findImage(imageName).catch((error: Error) => {
    throw new Error(`Unable to read Docker image into resource: ${error.message}`);
  });
  const outputs = { ...inputs, imageId: image.Id, repoDigest: repoDigest(imageName, image) };
  return {
    type: "docker:index/remoteImage:RemoteImage",
    name,
    kind: "image",
    id: image.Id + imageName,
    inputs,
    outputs,
    destroy: async () => undefined,
    exists: () => searchLocalImages(imageName).then(Boolean),
  };
}

const BUILD_FIELDS = [
  "context",
  "dockerfile",
  "buildArgs",
  "secrets",
  "platforms",
  "tags",
  "target",
  "load",
  "push",
  "exports",
  "cacheFrom",
  "cacheTo",
  "labels",
  "noCache",
  "pull",
  "addHosts",
  "network",
  "registries",
  "buildOnPreview",
  "ignoreSecretsInDiffCalculation",
];

/** A sha256 over every file's relative path, mode and content under the context, plus the Dockerfile. */
function contextHash(contextDir: string, dockerfile: string): string {
  const hash = createHash("sha256");
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      hash.update(`${relative(contextDir, path)}\0${statSync(path).mode}\0`);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) hash.update(readFileSync(path));
    }
  };
  walk(contextDir);
  hash.update(dockerfile);
  return `sha256:${hash.digest("hex")}`;
}

/** Whether reference.ParseNamed accepts the tag as already canonical (a registry host in front). */
function isFullyQualified(tag: string): boolean {
  const first = tag.split("/")[0];
  return tag.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
}

/** addDigest: "name:tag@digest" for the first fully qualified tag, otherwise the first tag. */
function refFor(tags: string[], digest: string): string {
  const qualified = tags.find(isFullyQualified);
  if (digest && qualified) {
    const lastPart = qualified.slice(qualified.lastIndexOf("/"));
    return `${lastPart.includes(":") ? qualified : `${qualified}:latest`}@${digest}`;
  }
  return tags[0] ?? "";
}

/** Which exports the build has after the provider's push/load shorthand (normalize). */
function exportKinds(inputs: Inputs): { load: boolean; push: boolean } {
  let load = inputs.load === true;
  let push = inputs.push === true;
  for (const raw of (inputs.exports ?? []) as Inputs[]) {
    if (raw.disabled === true) continue;
    if (raw.docker) load = true;
    else if (raw.registry || (raw.image && (raw.image as Inputs).push === true)) push = true;
    else throw new Error(`harness does not map exports entry ${JSON.stringify(raw)} (only docker and registry)`);
  }
  return { load, push };
}

/** `--cache-from` for registry sources (the only kind builtin BuildKit imports); other caches are skipped. */
function cacheArgs(inputs: Inputs): string[] {
  const args: string[] = [];
  for (const raw of (inputs.cacheFrom ?? []) as Inputs[]) {
    if (raw.registry) args.push("--cache-from", String((raw.registry as Inputs).ref));
    else console.warn(`[harness] cacheFrom ${JSON.stringify(raw)} ignored: builtin BuildKit imports registry caches only`);
  }
  for (const raw of (inputs.cacheTo ?? []) as Inputs[]) {
    if (raw.inline) args.push("--build-arg", "BUILDKIT_INLINE_CACHE=1");
    else console.warn(`[harness] cacheTo ${JSON.stringify(raw)} ignored: builtin BuildKit exports inline caches only`);
  }
  return args;
}

/**
 * dockerbuild.Image with `DOCKER_BUILDKIT=1 docker build`, shelled out to BUILD_CLI: the engine API's build
 * endpoint (dockerode) cannot serve BuildKit secrets without the session a CLI provides. Each secret goes to
 * a 0600 file passed as `--secret id=<id>,src=<file>`, removed afterwards. The builtin builder always loads
 * the result into the engine, pushes happen after with `docker push`.
 */
export async function realizeBuildImage(name: string, inputs: Inputs): Promise<Tracked> {
  rejectUnmapped("image", inputs, BUILD_FIELDS);
  const context = (inputs.context ?? {}) as Inputs;
  rejectUnmapped("image.context", context, ["location"]);
  const dockerfile = (inputs.dockerfile ?? {}) as Inputs;
  rejectUnmapped("image.dockerfile", dockerfile, ["location", "inline"]);
  const registries = (inputs.registries ?? []) as Inputs[];
  if (registries.some((r) => r.username || r.password)) {
    throw new Error("harness does not map registries with credentials (use the unauthenticated loopback registry)");
  }
  const platforms = (inputs.platforms ?? []) as string[];
  if (platforms.length > 1) {
    throw new Error(
      `builtin BuildKit builds one platform per build, got platforms ${JSON.stringify(platforms)}; ` +
        "declare one Image per platform and join them with an Index",
    );
  }
  const { load, push } = exportKinds(inputs);
  // ImageArgs.validate: without a v0.13+ BuildKit (the 20.10 engine has v0.8) push and load are exclusive.
  if (push && load) throw new Error("simultaneous push and load requires a v0.13 buildkit daemon or newer");

  const contextDir = resolve(String(context.location ?? "."));
  // Like `docker build -f`, the provider resolves a Dockerfile location against the working directory
  // (its examples pair context "./app" with dockerfile "./app/Dockerfile"); only the default sits in the context.
  const dockerfilePath = dockerfile.location === undefined ? join(contextDir, "Dockerfile") : resolve(String(dockerfile.location));
  const dockerfileText = dockerfile.inline ? String(dockerfile.inline) : readFileSync(dockerfilePath, "utf8");
  const tags = (inputs.tags ?? []) as string[];
  const secretDir = mkdtempSync(join(tmpdir(), "harness-secrets-"));
  try {
    const args = ["build", "--iidfile", join(secretDir, "iid"), "--file", dockerfile.inline ? "-" : dockerfilePath];
    for (const [key, value] of Object.entries((inputs.buildArgs ?? {}) as Inputs)) args.push("--build-arg", `${key}=${value}`);
    Object.entries((inputs.secrets ?? {}) as Inputs).forEach(([id, value], index) => {
      const file = join(secretDir, `secret-${index}`);
      writeFileSync(file, String(value), { mode: 0o600 });
      args.push("--secret", `id=${id},src=${file}`);
    });
    for (const [key, value] of Object.entries((inputs.labels ?? {}) as Inputs)) args.push("--label", `${key}=${value}`);
    for (const host of (inputs.addHosts ?? []) as string[]) args.push("--add-host", host);
    for (const tag of tags) args.push("--tag", tag);
    if (platforms.length === 1) args.push("--platform", platforms[0]);
    if (inputs.target) args.push("--target", String(inputs.target));
    if (inputs.noCache === true) args.push("--no-cache");
    if (inputs.pull === true) args.push("--pull");
    if (inputs.network) args.push("--network", String(inputs.network));
    args.push(...cacheArgs(inputs), contextDir);
    const child = run(BUILD_CLI, args, { env: BUILD_ENV, maxBuffer: 64 << 20 });
    if (dockerfile.inline) child.child.stdin?.end(dockerfileText);
    await child.catch((error: { stderr?: string; message: string }) => {
      throw new Error(`docker build failed for image ${name}:\n${error.stderr ?? error.message}`);
    });
    const imageId = readFileSync(join(secretDir, "iid"), "utf8").trim();
    let digest = imageId;
    if (push) {
      for (const tag of tags) digest = await pushTag(tag);
    }
    const outputs = { ...inputs, digest, ref: refFor(tags, digest), contextHash: contextHash(contextDir, dockerfileText) };
    return {
      type: "docker-build:index:Image",
      name,
      kind: "image",
      id: digest || name,
      inputs,
      outputs,
      destroy: async () => undefined,
      exists: async () => true,
    };
  } finally {
    rmSync(secretDir, { recursive: true, force: true });
  }
}

/** `docker push` and the manifest digest it reports ("<tag>: digest: sha256:... size: N"). */
async function pushTag(tag: string): Promise<string> {
  const { stdout } = await run("docker", ["push", tag]).catch((error: { stderr?: string; message: string }) => {
    throw new Error(`pushing ${tag} failed: ${error.stderr ?? error.message}`);
  });
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(stdout)?.[1];
  if (!digest) throw new Error(`pushing ${tag}: no digest in the output:\n${stdout}`);
  return digest;
}

/**
 * dockerbuild.Index: `docker manifest create --insecure` + `push --insecure --purge` (the provider's
 * imagetools keeps no local list either); push prints the list's digest. The SDK exposes only `ref`.
 */
export async function realizeIndex(name: string, inputs: Inputs): Promise<Tracked> {
  rejectUnmapped("index", inputs, ["tag", "sources", "push", "registry"]);
  const tag = String(inputs.tag);
  const sources = (inputs.sources ?? []) as string[];
  await run("docker", ["manifest", "create", "--insecure", "--amend", tag, ...sources]).catch((error: { stderr?: string; message: string }) => {
    throw new Error(`creating: ${error.stderr ?? error.message}`);
  });
  let digest = "";
  if (inputs.push !== false) {
    const { stdout } = await run("docker", ["manifest", "push", "--insecure", "--purge", tag]);
    digest = /sha256:[0-9a-f]{64}/.exec(stdout)?.[0] ?? "";
  }
  const outputs = { ...inputs, digest, ref: digest ? refFor([tag], digest) : tag };
  return {
    type: "docker-build:index:Index",
    name,
    kind: "image",
    id: name,
    inputs,
    outputs,
    destroy: async () => undefined,
    exists: async () => true,
  };
}
