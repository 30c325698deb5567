import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { END_OF_SECRETS } from "../../components/credentials/secret-files";
import { imageAgent } from "../../components/package-files";
import { type Evaluation, evaluateProgram, makeWorkspace, mockDigestOf } from "./support/program";

const ws = makeWorkspace();
const base = (extra: Record<string, unknown> = {}) => ({
  workspace: ws.dir,
  image: { agentUid: ws.uid, agentGid: ws.gid, ...((extra.image as object) ?? {}) },
  ...Object.fromEntries(Object.entries(extra).filter(([key]) => key !== "image")),
});
const API_KEY = "test-api-key-0000-not-a-real-key";

/** Resources whose inputs differ between two evaluations, by type/name. */
function changed(a: Evaluation, b: Evaluation): string[] {
  const key = (resource: { type: string; name: string }) => `${resource.type}/${resource.name}`;
  const before = new Map(a.resources.map((resource) => [key(resource), JSON.stringify(resource.inputs)]));
  return b.resources
    .filter((resource) => before.get(key(resource)) !== JSON.stringify(resource.inputs))
    .map(key)
    .sort();
}

describe("determinism and drift", () => {
  it("declares identical inputs when evaluated twice, so a second preview shows no diff", async () => {
    const config = base({ runs: [{ name: "r", sandbox: "main", prompt: "hi" }] });
    const first = await evaluateProgram({ config, secrets: { anthropicApiKey: API_KEY } });
    const second = await evaluateProgram({ config, secrets: { anthropicApiKey: API_KEY } });
    expect(second.resources.length).toBeGreaterThan(10);
    expect(second.resources).toEqual(first.resources);
  });

  it("changing only a prompt changes only that run", async () => {
    const runs = (prompt: string) => [
      { name: "a", sandbox: "main", prompt },
      { name: "b", sandbox: "main", prompt: "unchanged" },
    ];
    const first = await evaluateProgram({ config: base({ runs: runs("one") }), secrets: { anthropicApiKey: API_KEY } });
    const second = await evaluateProgram({ config: base({ runs: runs("two") }), secrets: { anthropicApiKey: API_KEY } });
    // The run, and the workspace manifest taken just before it (re-taken whenever the run re-runs).
    expect(changed(first, second)).toEqual(["command:local:Command/run-a", "command:local:Command/run-a-baseline"]);
  });

  it("a rebuilt image replaces the sandbox, an unchanged one does not", async () => {
    const first = await evaluateProgram({ config: base() });
    const same = await evaluateProgram({ config: base() });
    const rebuilt = await evaluateProgram({ config: base({ image: { toolchains: ["python3"] } }) });
    const imageOf = (program: Evaluation) => program.one("docker:index/container:Container", "main").inputs.image;
    expect(imageOf(same)).toBe(imageOf(first));
    expect(imageOf(rebuilt)).not.toBe(imageOf(first));
    expect(imageOf(first)).toMatch(/^sha256:/);
  });

  it("changing only the allowlist replaces only the egress proxy: no image rebuild, no sandbox replacement", async () => {
    const withAllow = (allow: string[]) => ({ ...base(), workspace: undefined, sandboxes: [{ name: "main", workspace: ws.dir, egress: { allow } }] });
    const first = await evaluateProgram({ config: withAllow(["registry.example.com"]) });
    const second = await evaluateProgram({ config: withAllow(["registry.example.com", "pypi.example.org"]) });
    expect(changed(first, second)).toEqual(["docker:index/container:Container/main-egress"]);
  });

  it("changing a sandbox's limits leaves the image alone", async () => {
    const first = await evaluateProgram({ config: base() });
    const second = await evaluateProgram({
      config: { ...base(), workspace: undefined, sandboxes: [{ name: "main", workspace: ws.dir, resources: { memory: "4g" } }] },
    });
    expect(changed(first, second)).toEqual(["docker:index/container:Container/main"]);
  });
});

describe("per-developer stacks", () => {
  it("two stacks on one Docker host declare disjoint container, network and volume names", async () => {
    const namesOf = async (stack: string) => {
      const program = await evaluateProgram({ config: base(), stack });
      return ["docker:index/container:Container", "docker:index/network:Network", "docker:index/volume:Volume"].flatMap((type) =>
        program.ofType(type).map((resource) => resource.inputs.name as string),
      );
    };
    const alice = await namesOf("alice");
    const bob = await namesOf("bob");
    // sandbox container, its internal network and home volume, the stack's proxy secrets volume, the egress proxy and its outbound network, the credential proxy
    expect(alice).toHaveLength(7);
    expect(alice.filter((name) => bob.includes(name))).toEqual([]);
    expect(alice.every((name) => name.startsWith("agent-sandbox-alice-"))).toBe(true);
  });

  it("targets another Docker host through an explicit provider and the CLI commands", async () => {
    const program = await evaluateProgram({ config: base({ docker: { host: "ssh://me@build-box" } }) });
    expect(program.one("pulumi:providers:docker", "engine").inputs.host).toBe("ssh://me@build-box");
    expect(program.one("command:local:Command", "main-start").inputs.environment.DOCKER_HOST).toBe("ssh://me@build-box");
    expect((program.outputs.sandboxOutputs as any).main.shell).toMatch(/^DOCKER_HOST='ssh:\/\/me@build-box' docker exec/);
  });

  it("sends the commands to the engine DOCKER_HOST names when docker.host is not set, as the providers do", async () => {
    const before = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = "tcp://build-box:2375";
    try {
      const program = await evaluateProgram({ config: base() });
      expect(program.one("pulumi:providers:docker", "engine").inputs.host).toBe("tcp://build-box:2375");
      expect(program.one("command:local:Command", "main-start").inputs.environment.DOCKER_HOST).toBe("tcp://build-box:2375");
      expect(program.one("command:local:Command", "main-egress-start").inputs.environment.DOCKER_HOST).toBe("tcp://build-box:2375");
    } finally {
      if (before === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = before;
    }
  });
});

describe("secrets", () => {
  const GIT_TOKEN = "ghx-test-token";
  const withSecrets = () =>
    evaluateProgram({
      config: {
        ...base(),
        workspace: undefined,
        sandboxes: [{ name: "main", workspace: ws.dir, egress: { gitRepos: ["github.com/org/repo"] } }],
        runs: [{ name: "r", sandbox: "main", prompt: "hi" }],
      },
      secrets: { anthropicApiKey: API_KEY, gitToken: GIT_TOKEN },
    });

  it("keeps the API key and the git token Pulumi secrets, only on the proxy secrets writer's stdin, out of every other input and output", async () => {
    const program = await withSecrets();
    const writer = program.one("command:local:Command", "proxy-secrets-write");
    expect(writer.options.secretInputs).toEqual(["stdin"]);
    expect(writer.inputs.stdin).toBe(`${API_KEY}\n\n${GIT_TOKEN}\n${END_OF_SECRETS}\n`);
    expect(writer.inputs.logging).toBe("none");
    for (const key of ["create", "environment"]) {
      expect(JSON.stringify(writer.inputs[key])).not.toContain(API_KEY);
      expect(JSON.stringify(writer.inputs[key])).not.toContain(GIT_TOKEN);
    }
    for (const resource of program.resources.filter((r) => r !== writer)) {
      expect(JSON.stringify(resource.inputs), `${resource.type}/${resource.name}`).not.toContain(API_KEY);
      expect(JSON.stringify(resource.inputs), `${resource.type}/${resource.name}`).not.toContain(GIT_TOKEN);
    }
    expect(JSON.stringify(program.outputs)).not.toContain(API_KEY);
    expect(JSON.stringify(program.outputs)).not.toContain(GIT_TOKEN);
  });

  it("puts neither secret in any container's inputs, the credential proxy's nginx config included", async () => {
    const program = await withSecrets();
    const containers = program.ofType("docker:index/container:Container");
    expect(containers.map((container) => container.name).sort()).toEqual(["main", "main-credential-proxy", "main-egress"]);
    for (const container of containers) {
      // The nginx config travels base64-encoded in the proxy's env: decode every env value before looking.
      const decoded = (container.inputs.envs ?? []).map((env: string) => Buffer.from(env.split("=").slice(1).join("="), "base64").toString("utf8"));
      for (const secret of [API_KEY, GIT_TOKEN, Buffer.from(`x-access-token:${GIT_TOKEN}`).toString("base64")]) {
        expect(JSON.stringify(container.inputs), container.name).not.toContain(secret);
        expect(decoded.join("\n"), container.name).not.toContain(secret);
      }
    }
    // No sandbox credentials volume at all: the token goes inside only with credentials-in-sandbox acknowledged.
    expect(program.ofType("command:local:Command").map((command) => command.name)).not.toContain("credentials-write");
  });

  it("refuses a secret stored in plain text in the stack file", async () => {
    await expect(evaluateProgram({ config: base(), plainSecrets: { anthropicApiKey: API_KEY } })).rejects.toThrow(
      "anthropicApiKey: is stored in plain text in the stack file; remove it and run: pulumi config set --secret anthropicApiKey <value>",
    );
  });
});

describe("the agent image", () => {
  it("builds one platform into the local engine by default and sandboxes run its image ID", async () => {
    const program = await evaluateProgram({ config: base() });
    const build = program.one("docker-build:index:Image", "agent").inputs;
    expect(build).toMatchObject({ push: false, load: true, tags: ["agent-sandbox/agent:dev"], context: { location: "docker/agent" } });
    expect(build.platforms).toBeUndefined();
    const resolved = program.one("docker:index/remoteImage:RemoteImage", "agent-resolved").inputs;
    expect(resolved).toMatchObject({ name: "agent-sandbox/agent:dev", keepLocally: true, pullTriggers: [expect.stringMatching(/^sha256:/)] });
  });

  it("passes the pinned CLI version, base images and toolchains as build args", async () => {
    const program = await evaluateProgram({
      config: base({ image: { agentVersions: { claude: "2.1.300" }, baseImage: "my/base:1", toolchains: ["python3", "make"] } }),
    });
    expect(program.one("docker-build:index:Image", "agent").inputs.buildArgs).toEqual({
      BASE_IMAGE: "my/base:1",
      BUILDER_IMAGE: "node:22-bookworm-slim",
      AGENT_INSTALL: imageAgent().installScript,
      AGENT_VERSION: "2.1.300",
      AGENT_EXECUTABLE: "claude",
      AGENT_UID: String(ws.uid),
      AGENT_GID: String(ws.gid),
      TOOLCHAINS: "python3 make",
    });
  });

  it("hands extra CA certificates to the build as a secret, never as a build arg", async () => {
    const pem = path.join(ws.dir, "corp-ca.pem");
    fs.writeFileSync(pem, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const program = await evaluateProgram({ config: base({ image: { extraCaCertsFile: pem } }) });
    const build = program.one("docker-build:index:Image", "agent");
    expect(build.inputs.secrets).toEqual({ extra_ca: fs.readFileSync(pem, "utf8") });
    expect(build.options.secretInputs).toContain("secrets");
    expect(JSON.stringify(build.inputs.buildArgs)).not.toContain("BEGIN CERTIFICATE");
  });

  it("builds a multi-arch image as one pushed build per platform joined by an index", async () => {
    const program = await evaluateProgram({
      config: base({
        image: {
          platforms: ["linux/amd64", "linux/arm64"],
          registry: { address: "127.0.0.1:5000", repository: "team/agent", username: "bot" },
          cache: { type: "registry", ref: "127.0.0.1:5000/team/cache" },
        },
      }),
      secrets: { registryPassword: "registry-pass-123" },
    });
    const builds = program.ofType("docker-build:index:Image").filter((build) => build.name.startsWith("agent"));
    expect(builds.map((build) => [build.name, build.inputs.platforms, build.inputs.tags, build.inputs.push])).toEqual([
      ["agent-amd64", ["linux/amd64"], ["127.0.0.1:5000/team/agent:dev-amd64"], true],
      ["agent-arm64", ["linux/arm64"], ["127.0.0.1:5000/team/agent:dev-arm64"], true],
    ]);
    expect(builds[1].inputs.cacheTo).toEqual([{ registry: { ref: "127.0.0.1:5000/team/cache-arm64", mode: "max", imageManifest: true, ociMediaTypes: true } }]);
    expect(builds[0].options.secretInputs).toContain("registries");
    const index = program.one("docker-build:index:Index", "agent-index").inputs;
    expect(index).toMatchObject({ tag: "127.0.0.1:5000/team/agent:dev", push: true });
    expect(index.sources).toEqual(builds.map((build) => `${build.inputs.tags[0]}@${mockDigestOf(build.inputs)}`));
    expect(program.one("docker:index/remoteImage:RemoteImage", "agent-resolved").inputs.name).toMatch(/^127\.0\.0\.1:5000\/team\/agent:dev@sha256:/);
    expect(program.one("pulumi:providers:docker", "engine").options.secretInputs).toContain("registryAuth");
  });

  it("refuses a multi-arch build without a registry before declaring anything", async () => {
    let recorded: Evaluation["resources"] = [];
    await expect(
      evaluateProgram({ config: base({ image: { platforms: ["linux/amd64", "linux/arm64"] } }), onResources: (resources) => (recorded = resources) }),
    ).rejects.toThrow(/image\.registry: building for 2 platforms \(linux\/amd64, linux\/arm64\) makes a multi-arch image/);
    expect(recorded).toEqual([]);
  });
});
