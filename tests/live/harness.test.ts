import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it, onTestFinished, type TestContext } from "vitest";
import { LABEL_PREFIX, MANAGED_BY } from "../../components/engine/naming";
import { deployLive, type LiveStack, secretConfig } from "../../testkit/harness";
import { docker, execIn, inspectContainer, LOCAL_IMAGES } from "../../testkit/live/engine";
import { LiveSuite, PROJECT } from "../../testkit/live/live-program";

const engine = new Docker();
const FIXTURE_PROGRAM = resolve(__dirname, "../../testkit/harness/fixtures/program.ts");
const BUILD_PROGRAM = resolve(__dirname, "../../testkit/harness/fixtures/build-program.ts");
const TOKEN = "s3cret-token";
const MB = 1024 * 1024;
/** Prefer the project's base image; fall back to the harness's own busybox image (make-test-image.sh). */
const IMAGE_CANDIDATES = [LOCAL_IMAGES.baseImage, "agent-sandbox/harness-test:latest"];

let image = "";
let scratch = "";
let workspace = "";
let stackCounter = 0;

function newStackName(): string {
  stackCounter += 1;
  return `harness-${process.pid}-${stackCounter}`;
}

/** The fixture program's lifecycle; its own stack is the healthy deployment the first tests inspect. */
const suite = new LiveSuite(newStackName(), FIXTURE_PROGRAM);

function fixtureConfig(stack: string, fixture: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    fixture: { image, workspace, deleteMarker: join(scratch, `${stack}-deleted`), ...fixture },
    token: secretConfig(TOKEN),
  };
}

function deploy(stack: string, fixture: Record<string, unknown> = {}): Promise<LiveStack> {
  return suite.deploy(stack, fixtureConfig(stack, fixture));
}

async function labelled(kind: "containers" | "networks" | "volumes", stack: string): Promise<string[]> {
  const filters = JSON.stringify({ label: [`${LABEL_PREFIX}.stack=${stack}`] });
  if (kind === "containers") return (await engine.listContainers({ all: true, filters })).map((c) => c.Id);
  if (kind === "networks") return (await engine.listNetworks({ filters })).map((n) => n.Id);
  return ((await engine.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name);
}

/** The image-only program: nothing on the engine to tear down but the image, which each test removes itself. */
function deployBuild(stack: string, config: Record<string, unknown>): Promise<LiveStack> {
  return deployLive({ programPath: BUILD_PROGRAM, project: PROJECT, stack, config });
}

describe("live harness", () => {
  beforeAll(async () => {
    if (!(await suite.engineReady())) return;
    for (const candidate of IMAGE_CANDIDATES) {
      if (
        await engine
          .getImage(candidate)
          .inspect()
          .then(
            () => true,
            () => false,
          )
      ) {
        image = candidate;
        break;
      }
    }
    if (!image) {
      throw new Error(`none of ${IMAGE_CANDIDATES.join(", ")} is on the engine; run tests/live/harness/make-test-image.sh`);
    }
    scratch = mkdtempSync(join(tmpdir(), "harness-test-"));
    workspace = join(scratch, "workspace");
    mkdirSync(workspace, { recursive: true });
    writeFileSync(join(workspace, "keep.txt"), "workspace content\n");
  });

  afterAll(async () => {
    await suite.teardown();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  describe("a healthy deployment", () => {
    const stackName = suite.stack;
    let deployed: LiveStack;
    let info: Docker.ContainerInspectInfo;

    beforeAll(async () => {
      if (!suite.available) return;
      await suite.deploySuiteStack(fixtureConfig(stackName));
    });

    /** Skips without an engine, fails with the deploy's error; the container is inspected once, after the deploy. */
    async function requireHealthy(context: TestContext): Promise<void> {
      deployed = suite.requireDeployed(context);
      info ??= await inspectContainer(String(deployed.outputs.containerId));
    }

    it("applies the hardening fields (read-only rootfs, no capabilities, no-new-privileges, init, user)", async (context) => {
      await requireHealthy(context);
      expect(info.HostConfig.ReadonlyRootfs, JSON.stringify(info.HostConfig)).toBe(true);
      expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
      expect(info.HostConfig.SecurityOpt).toEqual(["no-new-privileges:true"]);
      expect(info.HostConfig.Init).toBe(true);
      expect(info.Config.User).toBe("1000:1000");
    });

    it("converts memory and swap from MB to bytes and cpus to NanoCpus", async (context) => {
      await requireHealthy(context);
      expect(info.HostConfig.Memory).toBe(64 * MB);
      expect(info.HostConfig.MemorySwap).toBe(64 * MB);
      expect(info.HostConfig.NanoCpus).toBe(500_000_000);
      expect(info.HostConfig.CpuShares).toBe(256);
      expect(info.HostConfig.Ulimits).toEqual([{ Name: "nofile", Soft: 1024, Hard: 2048 }]);
    });

    it("mounts the workspace, the home volume and the tmpfs", async (context) => {
      await requireHealthy(context);
      const byTarget = Object.fromEntries(info.Mounts.map((m) => [m.Destination, m]));
      expect(byTarget["/workspace"], JSON.stringify(info.Mounts)).toMatchObject({ Type: "bind", Source: workspace });
      expect(byTarget["/home/agent"]).toMatchObject({ Type: "volume", Name: deployed.outputs.volumeName });
      expect(info.HostConfig.Tmpfs).toEqual({ "/tmp": "rw,nosuid,nodev,size=16m" });
      expect(info.HostConfig.Mounts?.find((m) => m.Target === "/run/scratch")).toMatchObject({
        Type: "tmpfs",
        TmpfsOptions: { SizeBytes: MB },
      });
    });

    it("sets the healthcheck with durations in nanoseconds and waits until healthy", async (context) => {
      await requireHealthy(context);
      expect(info.Config.Healthcheck).toEqual({
        Test: ["CMD", "test", "-f", "/tmp/ready"],
        Interval: 1e9,
        Timeout: 2e9,
        StartPeriod: 5e8,
        Retries: 2,
      });
      expect(info.State.Health?.Status).toBe("healthy");
    });

    it("connects only the internal network and adds the host-gateway entry", async (context) => {
      await requireHealthy(context);
      expect(Object.keys(info.NetworkSettings.Networks)).toEqual([deployed.outputs.networkName]);
      expect(info.HostConfig.ExtraHosts).toEqual(["gateway.internal:host-gateway"]);
      const network = await engine.getNetwork(String(deployed.outputs.networkName)).inspect();
      expect(network.Internal).toBe(true);
    });

    it("labels the container and passes the secret env in plain text to the engine", async (context) => {
      await requireHealthy(context);
      expect(info.Config.Labels).toMatchObject({
        [`${LABEL_PREFIX}.managed-by`]: MANAGED_BY,
        [`${LABEL_PREFIX}.stack`]: stackName,
      });
      expect(info.Config.Env).toEqual(expect.arrayContaining([`TOKEN=${TOKEN}`, "FOO=one"]));
    });

    it("runs the local command with `environment` and returns its trimmed stdout", async (context) => {
      await requireHealthy(context);
      expect(deployed.outputs.prepareStdout).toBe(String(TOKEN.length));
    });
  });

  it("keeps unchanged resources on a second deploy and replaces a changed container, keeping the home volume", async (context) => {
    suite.requireEngine(context);
    const stackName = newStackName();
    const first = await deploy(stackName);
    const name = String(first.outputs.containerName);
    await execIn(name, "echo persisted > /home/agent/marker", { user: "0" });

    const same = await deploy(stackName);
    expect(same.outputs.containerId).toBe(first.outputs.containerId);

    const changed = await deploy(stackName, { foo: "two" });
    expect(changed.outputs.containerId).not.toBe(first.outputs.containerId);
    expect((await execIn(name, "cat /home/agent/marker", { user: "0" })).output.trim()).toBe("persisted");
    expect((await execIn(name, "echo $FOO", { user: "0" })).output.trim()).toBe("two");
  });

  it("teardown removes every labelled object, runs delete commands and leaves the bind source untouched", async (context) => {
    suite.requireEngine(context);
    const stackName = newStackName();
    const deployed = await deploy(stackName);
    expect(await labelled("containers", stackName)).toHaveLength(1);

    await deployed.teardown();

    expect(await labelled("containers", stackName)).toEqual([]);
    expect(await labelled("networks", stackName)).toEqual([]);
    expect(await labelled("volumes", stackName)).toEqual([]);
    expect(existsSync(join(scratch, `${stackName}-deleted`)), "the command's delete ran").toBe(true);
    expect(readFileSync(join(workspace, "keep.txt"), "utf8")).toBe("workspace content\n");
  });

  it("teardown with keepVolumes keeps the home volume", async (context) => {
    suite.requireEngine(context);
    const stackName = newStackName();
    const deployed = await deploy(stackName);
    await deployed.teardown({ keepVolumes: true });
    expect(await labelled("containers", stackName)).toEqual([]);
    expect(await labelled("volumes", stackName)).toEqual([deployed.outputs.volumeName]);
    await deployed.teardown();
    expect(await labelled("volumes", stackName)).toEqual([]);
  });

  it("fails the deployment with the command's output when a command exits non-zero", async (context) => {
    suite.requireEngine(context);
    const stackName = newStackName();
    const failure = deploy(stackName, { createScript: "echo to-stdout; echo to-stderr >&2; exit 3" });
    await expect(failure).rejects.toThrow(/exit status 3: running .*\n(.|\n)*to-stdout(.|\n)*to-stderr/);
    // The container depends on the command, so it was never created.
    expect(await labelled("containers", stackName)).toEqual([]);
  });

  it("fails wait with the health log when the healthcheck never passes", async (context) => {
    suite.requireEngine(context);
    const stackName = newStackName();
    const failure = deploy(stackName, { healthTests: ["CMD-SHELL", "echo probe-says-no; exit 1"], waitTimeout: 5 });
    await expect(failure).rejects.toThrow(/container failed to be in healthy state(.|\n)*probe-says-no/);
  });

  it("builds with build args and a BuildKit secret that stays out of the image, and loads the result", async (context) => {
    suite.requireEngine(context);
    const stackName = newStackName();
    const buildContext = join(scratch, "build-context");
    mkdirSync(buildContext, { recursive: true });
    writeFileSync(
      join(buildContext, "Dockerfile"),
      [
        "ARG BASE_IMAGE",
        "FROM ${BASE_IMAGE}",
        "ARG GREETING",
        'RUN --mount=type=secret,id=extra_ca wc -c < /run/secrets/extra_ca > /secret-length && echo "$GREETING" > /greeting',
        "",
      ].join("\n"),
    );
    const tag = `agent-sandbox/harness-build:${stackName}`;
    try {
      const built = await deployBuild(stackName, { build: { base: image, context: buildContext, tag }, caBundle: secretConfig("0123456789") });
      const imageInfo = await engine.getImage(tag).inspect();
      expect(built.outputs.digest).toBe(imageInfo.Id);
      expect(built.outputs.ref).toBe(tag);
      expect(built.outputs.baseImageId).toBe((await engine.getImage(image).inspect()).Id);
      expect(built.outputs.contextHash).toMatch(/^sha256:[0-9a-f]{64}$/);
      const read = await docker("run", "--rm", tag, "cat", "/secret-length", "/greeting");
      expect(read.split(/\s+/).filter(Boolean)).toEqual(["10", "hello"]);
      const history = await docker("history", "--no-trunc", tag);
      expect(history).not.toContain("0123456789");
    } finally {
      await engine
        .getImage(tag)
        .remove()
        .catch(() => undefined);
    }
  });

  it("pushes to the loopback registry and joins the pushed image into an Index", async (context) => {
    suite.requireEngine(context);
    const registry = await fetch("http://127.0.0.1:5000/v2/").then(
      (r) => r.ok,
      () => false,
    );
    if (!registry) context.skip("no registry on 127.0.0.1:5000 (scripts/setup-engine.sh starts it)");
    const stackName = newStackName();
    const buildContext = join(scratch, "push-context");
    mkdirSync(buildContext, { recursive: true });
    writeFileSync(join(buildContext, "Dockerfile"), "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo pushed > /pushed\n");
    const repository = `127.0.0.1:5000/agent-sandbox/harness-push`;
    // The builtin builder loads what it pushes; the local tag is this test's to remove.
    onTestFinished(() =>
      engine
        .getImage(`${repository}:${stackName}`)
        .remove()
        .then(
          () => undefined,
          () => undefined,
        ),
    );
    const pushed = await deployBuild(stackName, {
      build: { base: image, context: buildContext, tag: `${repository}:${stackName}`, push: true, indexTag: `${repository}:${stackName}-index` },
      caBundle: secretConfig("unused"),
    });
    const digest = String(pushed.outputs.digest);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(pushed.outputs.ref).toBe(`${repository}:${stackName}@${digest}`);
    const manifest = await fetch(`http://127.0.0.1:5000/v2/agent-sandbox/harness-push/manifests/${digest}`, {
      headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    expect(manifest.status).toBe(200);
    expect(String(pushed.outputs.indexRef)).toMatch(new RegExp(`^${repository}:${stackName}-index@sha256:[0-9a-f]{64}$`));
  });

  it("refuses a container field the harness does not map", async (context) => {
    suite.requireEngine(context);
    const stackName = newStackName();
    await expect(deploy(stackName, { unmappedField: true })).rejects.toThrow(/harness does not map container\.ports/);
  });
});
