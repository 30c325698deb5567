/**
 * The agent image multi-arch, pushed to a registry like a user's, with the real Pulumi CLI and providers:
 * `image.platforms: [linux/amd64, linux/arm64]` and `image.registry` on the TLS loopback registry of
 * scripts/setup-engine.sh (its own CA, an htpasswd login) with `registryPassword` a stack secret. `up`
 * pushes both platforms and the index; the sandbox runs what the index digest names; a second `up`
 * changes nothing; a changed Dockerfile pushes a new digest and replaces the sandbox; the arm64 variant
 * really is arm64 (ELF machine of the agent CLI and of a base binary, `claude --version` under qemu); the
 * password is nowhere in the state, the CLI's output, docker inspect or Docker's own config.
 *
 * Needs the engine, the CLI and the TLS registry (skips without them; REQUIRE_DOCKER=1 / REQUIRE_PULUMI=1
 * make that a failure) and the amd64+arm64 base lists of `setup-engine.sh --arm64` (skips without them,
 * a failure under REQUIRE_ARM64=1). Prints `[bench]` lines: the multi-arch up, the no-change up.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { LABEL_PREFIX, sandboxObjectNames } from "../../components/engine/naming";
import { docker, inspectContainer, labelArgs, testLabels, waitHealthy } from "../../testkit/live/engine";
import { agentWorkspace, type HostService, liveConfig, PROJECT, sandboxEntry, startHostService } from "../../testkit/live/live-program";
import { type CliResult, POLICY_PACK, PulumiGate, RealStack, runCli } from "../../testkit/live/pulumi-cli";
import {
  BASE_REGISTRY,
  type IndexEntry,
  MEDIA_TYPES,
  MULTIARCH_BASE_IMAGES,
  multiArchBases,
  platformsOf,
  type RegistryLogin,
  registryLogin,
  tlsRegistryRequest,
} from "../../testkit/live/registry";

const STACK = `multiarch-${process.pid}`;
const REPOSITORY = "agent-sandbox/agent";
const NAMES = sandboxObjectNames({ project: PROJECT, stack: STACK }, "main");
/** ELF e_machine of AArch64 (EM_AARCH64). */
const EM_AARCH64 = 0xb7;

const gate = new PulumiGate();
let login: RegistryLogin | undefined;
let skipReason: string | undefined;
let probe: HostService;
let workspace: string;
let stack: RealStack;
/** Everything the CLI printed, for the password check. */
const cliOutput: string[] = [];
/** Every manifest digest the stack pushed (indexes and platform manifests), deleted from the registry at the end. */
const pushed = new Set<string>();
/** Images this suite pulled or created in the engine, removed at the end. */
const localImages = new Set<string>();

function configFor(bases: { baseImage: string; builderImage: string } = MULTIARCH_BASE_IMAGES): Record<string, unknown> {
  return liveConfig({
    image: {
      ...bases,
      platforms: ["linux/amd64", "linux/arm64"],
      registry: { address: login!.address, repository: REPOSITORY, username: login!.username },
    },
    sandboxes: [sandboxEntry({ name: "main", workspace, probe })],
  });
}

async function pulumi(args: string[], options: { allowFailure?: boolean } = {}): Promise<CliResult> {
  const result = await stack.pulumi(args, options);
  cliOutput.push(result.stdout, result.stderr);
  return result;
}

/** `pulumi up`, timed; prints a [bench] line. */
async function timedUp(label: string, extra: string[] = []): Promise<number> {
  const started = Date.now();
  await pulumi(["up", "--yes", "--skip-preview", ...extra]);
  const seconds = (Date.now() - started) / 1000;
  console.log(`[bench] ${label}: ${seconds.toFixed(1)} s`);
  return seconds;
}

/** The index the stack's tag names, as the registry serves it, with its digest. */
async function indexOf(tag: string): Promise<{ digest: string; entries: IndexEntry[]; mediaType: string }> {
  const answer = await tlsRegistryRequest(login!, "GET", `/v2/${REPOSITORY}/manifests/${tag}`);
  expect(answer.status, answer.body.toString()).toBe(200);
  const manifest = JSON.parse(answer.body.toString()) as { mediaType: string; manifests?: IndexEntry[] };
  const digest = String(answer.headers["docker-content-digest"]);
  return { digest, entries: manifest.manifests ?? [], mediaType: manifest.mediaType };
}

/** The sandbox container's image ID and the ID of the image `ref` names in the engine. */
async function imageIdOf(ref: string): Promise<string> {
  return (await docker("image", "inspect", "--format", "{{.Id}}", ref)).trim();
}

/** Runs the docker CLI with a throwaway config logged in to the TLS registry (the password on stdin), never the machine's. */
async function withRegistryLogin<T>(use: (dockerConfig: string) => Promise<T>): Promise<T> {
  const dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-docker-config-"));
  try {
    await runCli(
      "docker",
      ["--config", dockerConfig, "login", login!.address, "--username", login!.username, "--password-stdin"],
      { cwd: dockerConfig, env: process.env },
      { input: login!.password },
    );
    return await use(dockerConfig);
  } finally {
    fs.rmSync(dockerConfig, { recursive: true, force: true });
  }
}

/** The ELF e_machine of a file: bytes 18-19, little-endian for both our architectures; fails on a non-ELF file. */
function elfMachine(file: string): number {
  const header = Buffer.alloc(20);
  const fd = fs.openSync(file, "r");
  try {
    fs.readSync(fd, header, 0, 20, 0);
  } finally {
    fs.closeSync(fd);
  }
  expect(header.subarray(0, 4).toString("latin1"), `${file} is not an ELF file`).toBe("\x7fELF");
  return header.readUInt16LE(18);
}

function requireReady(context: TestContext): void {
  gate.requireCli(context);
  if (skipReason) context.skip(skipReason);
}

describe("the agent image multi-arch, pushed to a TLS registry with a login (live)", () => {
  let first: { digest: string; ref: string; containerId: string } | undefined;

  beforeAll(async () => {
    if (!(await gate.ready())) return;
    const registry = registryLogin();
    if (!registry.available) {
      if (process.env.REQUIRE_DOCKER === "1") throw new Error(`REQUIRE_DOCKER=1 but ${registry.reason}`);
      console.warn(`[live] skipped: ${registry.reason}`);
      skipReason = registry.reason;
      return;
    }
    login = registry.login;
    const bases = await multiArchBases();
    if (!bases.available) {
      if (process.env.REQUIRE_ARM64 === "1") throw new Error(`REQUIRE_ARM64=1 but ${bases.reason}`);
      console.warn(`[live] skipped: ${bases.reason}`);
      skipReason = bases.reason;
      return;
    }
    probe = await startHostService("probe-ok\n");
    workspace = agentWorkspace("agent-sandbox-multiarch-");
    stack = await RealStack.create(STACK);
    stack.setConfig(configFor());
    await stack.setSecret("registryPassword", login.password);
    // The egress proxy's image, built for the engine and tagged for the stack: the stack made it, the suite removes it.
    localImages.add(`${PROJECT}/egress-proxy:${STACK}`);
  });

  afterAll(async () => {
    await stack?.remove();
    if (login) {
      for (const digest of pushed) await tlsRegistryRequest(login, "DELETE", `/v2/${REPOSITORY}/manifests/${digest}`).catch(() => undefined);
      for (const image of localImages) await docker("image", "rm", image).catch(() => undefined);
    }
    await probe?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("refuses a single-platform base before anything is declared, naming image.baseImage and how to check it", async (context) => {
    requireReady(context);
    const single = `${BASE_REGISTRY}/agent-sandbox/debian:bookworm-slim`;
    stack.setConfig(configFor({ ...MULTIARCH_BASE_IMAGES, baseImage: single }));
    try {
      const refused = await pulumi(["preview"], { allowFailure: true });
      const output = `${refused.stdout}\n${refused.stderr}`;
      expect(refused.code, output).not.toBe(0);
      expect(output).toContain(`image.baseImage: "${single}" is a single-platform image, but image.platforms asks for linux/amd64, linux/arm64`);
      expect(output).toContain(`docker buildx imagetools inspect ${single}`);
      expect(output).not.toMatch(/docker-build:index:Image/);
    } finally {
      stack.setConfig(configFor());
    }
  });

  it("pushes both platforms and the index, and the sandbox runs the image the index digest names", async (context) => {
    requireReady(context);
    await timedUp("multi-arch up (amd64 + arm64, push, index, sandbox)");
    const outputs = await stack.outputs();
    const ref = String(outputs.agentImage.ref);
    const index = await indexOf(STACK);
    pushed.add(index.digest);
    for (const entry of index.entries) pushed.add(entry.digest);
    for (const suffix of ["amd64", "arm64"]) pushed.add((await indexOf(`${STACK}-${suffix}`)).digest);

    expect([MEDIA_TYPES.dockerList, MEDIA_TYPES.ociIndex]).toContain(index.mediaType);
    expect(platformsOf(index.entries)).toEqual(["linux/amd64", "linux/arm64"]);
    expect(ref).toBe(`${login!.address}/${REPOSITORY}:${STACK}@${index.digest}`);
    expect(outputs.agentImage.digest).toBe(index.digest);

    // The engine pulled the index by digest (its platform's variant); the sandbox runs exactly that image.
    const pinned = `${login!.address}/${REPOSITORY}@${index.digest}`;
    localImages.add(pinned);
    const sandbox = await waitHealthy(NAMES.container);
    expect(sandbox.Image).toBe(await imageIdOf(pinned));
    expect((await docker("image", "inspect", "--format", "{{.Architecture}}", pinned)).trim()).toBe("amd64");
    expect(sandbox.State.Health?.Status).toBe("healthy");
    first = { digest: index.digest, ref, containerId: sandbox.Id };
  });

  it("pushed an arm64 variant that is arm64: the agent CLI and a base binary are AArch64 ELF, and the CLI runs under emulation", async (context) => {
    requireReady(context);
    if (!first) throw new Error("the first up did not complete");
    const arm64 = (await indexOf(STACK)).entries.find((entry) => entry.platform?.architecture === "arm64");
    expect(arm64, "no arm64 entry in the index").toBeDefined();
    const ref = `${login!.address}/${REPOSITORY}@${arm64!.digest}`;
    localImages.add(ref);
    await withRegistryLogin((dockerConfig) => docker("--config", dockerConfig, "pull", "--quiet", ref));
    expect((await docker("image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", ref)).trim()).toBe("linux/arm64");

    const files = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-arm64-"));
    const container = (await docker("create", "--platform", "linux/arm64", ...labelArgs(testLabels("multi-arch")), ref)).trim();
    try {
      for (const [inImage, name] of [
        ["/usr/local/bin/claude", "claude"],
        ["/usr/bin/ls", "ls"],
      ]) {
        await docker("cp", `${container}:${inImage}`, path.join(files, name));
        expect(elfMachine(path.join(files, name)), `e_machine of ${inImage}`).toBe(EM_AARCH64);
      }
    } finally {
      await docker("rm", "-f", container).catch(() => undefined);
      fs.rmSync(files, { recursive: true, force: true });
    }

    const version = (await docker("image", "inspect", "--format", `{{index .Config.Labels "${LABEL_PREFIX}.agent-version"}}`, ref)).trim();
    const started = Date.now();
    const printed = await docker(
      "run",
      "--rm",
      "--platform",
      "linux/arm64",
      "--network",
      "none",
      ...labelArgs(testLabels("multi-arch")),
      ref,
      "claude",
      "--version",
    );
    console.log(`[bench] claude --version of the arm64 variant under qemu: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(printed).toContain(version);
  });

  it("changes nothing on a second up: no diff, no build, the same index digest", async (context) => {
    requireReady(context);
    if (!first) throw new Error("the first up did not complete");
    const preview = await pulumi(["preview", "--expect-no-changes", "--diff"], { allowFailure: true });
    expect(preview.code, `${preview.stdout}\n${preview.stderr}`).toBe(0);
    await timedUp("no-change up with push configured", ["--expect-no-changes"]);
    expect((await indexOf(STACK)).digest).toBe(first.digest);
    expect((await inspectContainer(NAMES.container)).Id).toBe(first.containerId);
  });

  it("passes the policy pack, whose image-pinned-by-digest rule judges this pushing stack's real resources", async (context) => {
    requireReady(context);
    const checked = await pulumi(["preview", "--policy-pack", POLICY_PACK], { allowFailure: true });
    expect(checked.code, `${checked.stdout}\n${checked.stderr}`).toBe(0);
    expect(`${checked.stdout}\n${checked.stderr}`).not.toMatch(/image-pinned-by-digest/);
  });

  it("pushes a new digest for a changed Dockerfile and replaces the sandbox with the image it names", async (context) => {
    requireReady(context);
    if (!first) throw new Error("the first up did not complete");
    const dockerfile = path.join(stack.programDir, "docker/agent/Dockerfile");
    fs.appendFileSync(dockerfile, `\nLABEL dev.agent-sandbox.test=rebuilt-${randomBytes(4).toString("hex")}\n`);
    await timedUp("multi-arch up after a Dockerfile change (warm cache)");
    const index = await indexOf(STACK);
    pushed.add(index.digest);
    for (const entry of index.entries) pushed.add(entry.digest);
    for (const suffix of ["amd64", "arm64"]) pushed.add((await indexOf(`${STACK}-${suffix}`)).digest);
    expect(index.digest).not.toBe(first.digest);
    expect(platformsOf(index.entries)).toEqual(["linux/amd64", "linux/arm64"]);
    expect((await stack.outputs()).agentImage.ref).toBe(`${login!.address}/${REPOSITORY}:${STACK}@${index.digest}`);

    const pinned = `${login!.address}/${REPOSITORY}@${index.digest}`;
    localImages.add(pinned);
    const sandbox = await waitHealthy(NAMES.container);
    expect(sandbox.Id).not.toBe(first.containerId);
    expect(sandbox.Image).toBe(await imageIdOf(pinned));
  });

  it("keeps the registry password out of the stack file, the state, the CLI's output, docker inspect and Docker's config", async (context) => {
    requireReady(context);
    const secret = login!.password;
    const basicAuth = Buffer.from(`${login!.username}:${secret}`).toString("base64");
    const stackFile = fs.readFileSync(path.join(stack.programDir, `Pulumi.${STACK}.yaml`), "utf8");
    expect(stackFile).toMatch(/registryPassword:\s+secure: /);
    const exported = (await pulumi(["stack", "export"])).stdout;
    const containers = (await docker("ps", "-aq", "--filter", `label=${LABEL_PREFIX}.stack=${STACK}`)).split("\n").filter(Boolean);
    expect(containers).not.toEqual([]);
    const images = await Promise.all([...localImages].map((image) => docker("image", "inspect", image).catch(() => "")));
    const inspected = [await docker("inspect", ...containers), ...images].join("\n");
    const dockerConfig = path.join(os.homedir(), ".docker", "config.json");
    const places: Record<string, string> = {
      "the stack file": stackFile,
      "pulumi stack export": exported,
      "the state file": stack.stateText(),
      "the CLI's output": cliOutput.join("\n"),
      "docker inspect": inspected,
      "~/.docker/config.json": fs.existsSync(dockerConfig) ? fs.readFileSync(dockerConfig, "utf8") : "",
    };
    for (const [place, text] of Object.entries(places)) {
      expect(text.includes(secret), `the password is in ${place}`).toBe(false);
      expect(text.includes(basicAuth), `user:password (base64) is in ${place}`).toBe(false);
    }
  });
});
