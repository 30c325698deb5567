/**
 * The credential proxy as the real program declares it (under the mock monitor): its container's
 * hardening and networks, the order of starts, where the secrets go and where they never go.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { credentialProxyConfig } from "../../components/credentials/nginx-conf";
import { END_OF_SECRETS } from "../../components/credentials/secret-files";
import { type Evaluation, evaluateProgram, makeWorkspace, type ProgramOptions, type RecordedResource } from "./support/program";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";
const VOLUME = "docker:index/volume:Volume";
const API_KEY = "sk-ant-test-0000-not-a-real-key";
const GIT_TOKEN = "ghx-test-token-0000";

const ws = makeWorkspace();
const image = { agentUid: ws.uid, agentGid: ws.gid };
const withSandbox = (sandbox: Record<string, unknown>, extra: Partial<ProgramOptions> = {}) =>
  evaluateProgram({
    config: { image, sandboxes: [{ name: "main", workspace: ws.dir, ...sandbox }], runs: [{ name: "r", sandbox: "main", prompt: "hi" }] },
    secrets: { anthropicApiKey: API_KEY, gitToken: GIT_TOKEN },
    ...extra,
  });

const nginxConfOf = (proxy: RecordedResource) => {
  const env = (proxy.inputs.envs as string[]).find((entry) => entry.startsWith("NGINX_CONF_B64="))!;
  return Buffer.from(env.slice("NGINX_CONF_B64=".length), "base64").toString("utf8");
};

describe("the credential proxy container", () => {
  let program: Evaluation;
  let proxy: RecordedResource;

  beforeAll(async () => {
    program = await withSandbox({ egress: { gitRepos: ["github.com/org/repo"] } });
    proxy = program.one(CONTAINER, "main-credential-proxy");
  });

  it("runs the proxy image as the proxy user, never root, with nginx's own entrypoint", () => {
    expect(proxy.inputs.name).toBe("agent-sandbox-dev-main-credential-proxy");
    expect(proxy.inputs.image).toBe(program.one(CONTAINER, "main-egress").inputs.image);
    expect(proxy.inputs.user).toBe("13:13");
    expect(proxy.inputs.entrypoints).toEqual(["/usr/local/bin/credential-proxy-entrypoint"]);
  });

  it("has the hardening baseline: no capability, no new privileges, a read-only root, a memory limit without swap", () => {
    expect(proxy.inputs.capabilities.drops).toEqual(["ALL"]);
    expect(proxy.inputs.capabilities.adds ?? []).toEqual([]);
    expect(proxy.inputs.securityOpts).toEqual(["no-new-privileges:true"]);
    expect(proxy.inputs.readOnly).toBe(true);
    expect(proxy.inputs.privileged).not.toBe(true);
    expect(proxy.inputs.networkMode).toBeUndefined();
    expect(proxy.inputs.memory).toBe(64);
    expect(proxy.inputs.memorySwap).toBe(64);
    expect(proxy.inputs.ulimits).toEqual([{ name: "nofile", soft: 4096, hard: 4096 }]);
    expect(proxy.inputs.start).toBe(false);
    expect(program.one(COMMAND, "main-credential-proxy-start").inputs.environment).toMatchObject({
      CONTAINER: "agent-sandbox-dev-main-credential-proxy",
      PIDS_LIMIT: "32",
    });
  });

  it("mounts the proxy secrets volume read-only and nothing of the host", () => {
    expect(proxy.inputs.mounts).toEqual([
      { type: "tmpfs", target: "/tmp", tmpfsOptions: { sizeBytes: 16 * 1024 * 1024, mode: 0o1777 } },
      { type: "volume", source: "agent-sandbox-dev-proxy-secrets", target: "/run/credential-proxy", readOnly: true },
    ]);
    expect(proxy.inputs.volumes).toBeUndefined();
    expect(program.one(VOLUME, "proxy-secrets").inputs.name).toBe("agent-sandbox-dev-proxy-secrets");
  });

  it("answers on the sandbox's network as credential-proxy and goes out by the egress proxy's outbound network", () => {
    expect(proxy.inputs.networksAdvanced).toEqual([
      { name: "agent-sandbox-dev-main-egress-net" },
      { name: "agent-sandbox-dev-main-net", aliases: ["credential-proxy"] },
    ]);
  });

  it("has no name for the Docker host when no upstream is there", () => {
    expect(proxy.inputs.hosts).toEqual([]);
  });

  it("carries the discovery labels with the credential-proxy role a key rotation signals", () => {
    expect(proxy.inputs.labels).toEqual([
      { label: "dev.agent-sandbox.managed-by", value: "agent-sandbox" },
      { label: "dev.agent-sandbox.project", value: "agent-sandbox" },
      { label: "dev.agent-sandbox.role", value: "credential-proxy" },
      { label: "dev.agent-sandbox.sandbox", value: "main" },
      { label: "dev.agent-sandbox.stack", value: "dev" },
    ]);
  });

  it("runs the configuration planned for the sandbox, with the key and the token included from files", () => {
    const conf = nginxConfOf(proxy);
    expect(conf).toBe(
      credentialProxyConfig({
        sandboxName: "main",
        api: {
          upstream: { host: "api.anthropic.com", port: 443, pathPrefix: "" },
          provider: "anthropic",
          hasKey: true,
          // Unused while the stack has a key.
          missingKeyBody: "unused",
        },
        gitRepos: [{ host: "github.com", port: 443, path: "org/repo" }],
        hasGitToken: true,
      }),
    );
    expect(conf).toContain("include /run/credential-proxy/api-key-anthropic.conf;");
    expect(conf).toContain("include /run/credential-proxy/git-authorization.conf;");
  });

  it("is replaced, not updated, when its configuration or mounts change, and checked healthy by its own script", () => {
    expect(proxy.options.replaceOnChanges).toEqual(expect.arrayContaining(["healthcheck", "tmpfs", "mounts"]));
    expect(proxy.options.deleteBeforeReplace).toBe(true);
    expect(proxy.inputs.healthcheck.tests).toEqual(["CMD", "/usr/local/bin/credential-proxy-healthcheck"]);
  });

  it("starts after the proxy secrets are written, and the sandbox starts after it is healthy", () => {
    expect(program.one(COMMAND, "main-credential-proxy-start").options.dependsOn).toEqual(
      expect.arrayContaining(["main-credential-proxy", "proxy-secrets-write"]),
    );
    expect(program.one(COMMAND, "main-start").options.dependsOn).toEqual(
      expect.arrayContaining(["proxy-secrets-write", "main-egress-start", "main-credential-proxy-start"]),
    );
  });

  it("gives the sandbox the placeholder key, the proxy's address and git's rewrite, and no credentials volume", () => {
    const sandbox = program.one(CONTAINER, "main").inputs;
    expect(sandbox.envs).toEqual(
      expect.arrayContaining([
        "ANTHROPIC_API_KEY=added-by-credential-proxy",
        "ANTHROPIC_BASE_URL=http://credential-proxy:8080",
        "GIT_CONFIG_COUNT=1",
        "GIT_CONFIG_KEY_0=url.http://credential-proxy:8081/.insteadOf",
        "GIT_CONFIG_VALUE_0=https://",
        "GIT_TERMINAL_PROMPT=0",
        "NO_PROXY=localhost,127.0.0.1,::1,credential-proxy",
      ]),
    );
    expect(sandbox.mounts.map((mount: { target: string }) => mount.target)).not.toContain("/run/agent-secrets");
    expect(program.ofType(VOLUME).map((volume) => volume.name)).not.toContain("credentials");
  });

  it("leaves github.com off the egress allowlist once repositories are listed, and the agent's API off it under auth proxy", () => {
    const env = (program.one(CONTAINER, "main-egress").inputs.envs as string[]).find((entry) => entry.startsWith("SQUID_CONF_B64="))!;
    const squid = Buffer.from(env.slice("SQUID_CONF_B64=".length), "base64").toString("utf8");
    expect(squid).toContain("http_access deny all");
    expect(squid).not.toMatch(/github\.com|anthropic\.com|claude\.ai|claude\.com/);
  });
});

describe("where the API key and the git token go", () => {
  let program: Evaluation;
  beforeAll(async () => {
    program = await withSandbox({ egress: { gitRepos: ["github.com/org/repo"] } });
  });

  const basic = Buffer.from(`x-access-token:${GIT_TOKEN}`).toString("base64");
  /** Every string inside a value, base64 ones decoded too. */
  const texts = (value: unknown): string[] => {
    const plain = JSON.stringify(value) ?? "";
    const decoded = (plain.match(/[A-Za-z0-9+/]{16,}={0,2}/g) ?? []).map((b64) => Buffer.from(b64, "base64").toString("utf8"));
    return [plain, ...decoded];
  };

  it("is in no container's inputs, decoded or not", () => {
    const containers = program.ofType(CONTAINER);
    expect(containers.map((container) => container.name).sort()).toEqual(["main", "main-credential-proxy", "main-egress"]);
    for (const container of containers) {
      for (const text of texts(container.inputs)) {
        for (const secret of [API_KEY, GIT_TOKEN, basic]) expect(text, `${container.name} holds a secret`).not.toContain(secret);
      }
    }
  });

  it("is in no input of any resource but the proxy secrets writer's stdin, which is a secret", () => {
    const writer = program.one(COMMAND, "proxy-secrets-write");
    expect(writer.options.secretInputs).toEqual(["stdin"]);
    expect(writer.inputs.stdin).toBe(`${API_KEY}\n\n${GIT_TOKEN}\n${END_OF_SECRETS}\n`);
    expect(writer.inputs.logging).toBe("none");
    const { stdin: _, ...rest } = writer.inputs;
    for (const resource of [
      ...program.resources.filter((other) => other !== writer),
      { type: COMMAND, name: "proxy-secrets-write (all but stdin)", inputs: rest },
    ]) {
      for (const text of texts(resource.inputs)) {
        for (const secret of [API_KEY, GIT_TOKEN, basic]) expect(text, `${resource.type}/${resource.name}`).not.toContain(secret);
      }
    }
    for (const text of texts(program.outputs)) {
      for (const secret of [API_KEY, GIT_TOKEN]) expect(text).not.toContain(secret);
    }
  });

  it("is written as the proxy user into the proxy secrets volume", () => {
    expect(program.one(COMMAND, "proxy-secrets-write").inputs.environment).toMatchObject({
      WRITER_USER: "13:13",
      SECRETS_VOLUME: "agent-sandbox-dev-proxy-secrets",
      SECRETS_MOUNT: "/run/credential-proxy",
      PROJECT: "agent-sandbox",
      STACK: "dev",
    });
  });
});

describe("credential proxy variants in the program", () => {
  it("names the Docker host only when an upstream is host.docker.internal", async () => {
    const viaApi = await withSandbox({ apiUpstream: "https://host.docker.internal:8443/v1" }, { secrets: { anthropicApiKey: API_KEY } });
    expect(viaApi.one(CONTAINER, "main-credential-proxy").inputs.hosts).toEqual([{ host: "host.docker.internal", ip: "host-gateway" }]);
    expect(nginxConfOf(viaApi.one(CONTAINER, "main-credential-proxy"))).toContain("proxy_pass https://@HOST_GATEWAY@:8443/v1$request_uri;");
    const viaGit = await withSandbox({ egress: { gitRepos: ["host.docker.internal:3000/org/repo"] } });
    expect(viaGit.one(CONTAINER, "main-credential-proxy").inputs.hosts).toEqual([{ host: "host.docker.internal", ip: "host-gateway" }]);
    // The sandbox itself still gets no name for the host.
    expect(viaGit.one(CONTAINER, "main").inputs.hosts).toBeUndefined();
  });

  it("sits only on the sandbox's own network in open egress, which has a route out", async () => {
    const program = await withSandbox({ egress: { mode: "open" }, acknowledgeUnsafe: ["open-egress"] }, { secrets: { anthropicApiKey: API_KEY } });
    expect(program.ofType(CONTAINER).map((container) => container.name)).not.toContain("main-egress");
    expect(program.one(CONTAINER, "main-credential-proxy").inputs.networksAdvanced).toEqual([
      { name: "agent-sandbox-dev-main-net", aliases: ["credential-proxy"] },
    ]);
    expect(program.one(CONTAINER, "main").inputs.envs).toEqual(expect.arrayContaining(["ANTHROPIC_BASE_URL=http://credential-proxy:8080"]));
  });

  it("answers the API's 401 when the stack has no key and no run needs one", async () => {
    const program = await evaluateProgram({ config: { image, workspace: ws.dir } });
    const conf = nginxConfOf(program.one(CONTAINER, "main-credential-proxy"));
    expect(conf).not.toContain("api-key-");
    expect(conf).toMatch(/return 401 '\{"type":"error","error":\{"type":"authentication_error","message":"[^']*anthropicApiKey/);
    expect(program.one(COMMAND, "proxy-secrets-write").inputs.stdin).toBe(`\n\n\n${END_OF_SECRETS}\n`);
  });

  it("declares no credential proxy under auth subscription without repositories, nor with no network", async () => {
    for (const sandbox of [{ auth: "subscription" }, { egress: { mode: "none" } }]) {
      const program = await evaluateProgram({ config: { image, sandboxes: [{ name: "main", workspace: ws.dir, ...sandbox }] } });
      expect(program.ofType(CONTAINER).map((container) => container.name)).not.toContain("main-credential-proxy");
      expect(program.ofType(COMMAND).map((command) => command.name)).not.toContain("proxy-secrets-write");
      expect(program.ofType(VOLUME).map((volume) => volume.name)).not.toContain("proxy-secrets");
      expect(program.one(CONTAINER, "main").inputs.envs.filter((env: string) => env.startsWith("ANTHROPIC_"))).toEqual([]);
    }
  });

  it("gives a subscription sandbox a git-only proxy for its repositories, and its agent's endpoints on the allowlist", async () => {
    const program = await withSandbox({ auth: "subscription", egress: { gitRepos: ["github.com/org/repo"] } });
    const conf = nginxConfOf(program.one(CONTAINER, "main-credential-proxy"));
    expect(conf).not.toContain("listen 8080;");
    expect(conf).toContain("listen 8081;");
    const envs = program.one(CONTAINER, "main").inputs.envs as string[];
    expect(envs.filter((env) => env.startsWith("ANTHROPIC_"))).toEqual([]);
    expect(envs).toEqual(
      expect.arrayContaining(["GIT_CONFIG_KEY_0=url.http://credential-proxy:8081/.insteadOf", "AGENT_EGRESS_PROBE_ALLOWED=https://api.anthropic.com/"]),
    );
  });

  it("puts the git token inside only with credentials-in-sandbox acknowledged, and then nothing but the token", async () => {
    const program = await withSandbox({ acknowledgeUnsafe: ["credentials-in-sandbox"] });
    const sandbox = program.one(CONTAINER, "main").inputs;
    expect(sandbox.mounts).toContainEqual({ type: "volume", source: "agent-sandbox-dev-credentials", target: "/run/agent-secrets", readOnly: true });
    const writer = program.one(COMMAND, "credentials-write");
    expect(writer.options.secretInputs).toEqual(["stdin"]);
    expect(writer.inputs.stdin).toBe(`${GIT_TOKEN}\n${END_OF_SECRETS}\n`);
    expect(writer.inputs.stdin).not.toContain(API_KEY);
    expect(writer.inputs.environment).toMatchObject({ WRITER_USER: `${ws.uid}:${ws.gid}`, SECRETS_MOUNT: "/run/agent-secrets" });
    expect(program.one(COMMAND, "main-start").options.dependsOn).toEqual(expect.arrayContaining(["credentials-write", "proxy-secrets-write"]));
    // The API key still reaches the agent only through the credential proxy.
    expect(sandbox.envs).toEqual(expect.arrayContaining(["ANTHROPIC_API_KEY=added-by-credential-proxy"]));
  });

  it("refuses before declaring anything: a run without a key, and a git token git to whole hosts would read", async () => {
    let declared: RecordedResource[] = [];
    await expect(
      evaluateProgram({
        config: { image, workspace: ws.dir, runs: [{ name: "r", sandbox: "main", prompt: "hi" }] },
        secrets: { gitToken: GIT_TOKEN },
        onResources: (resources) => (declared = resources),
      }),
    ).rejects.toThrow(
      /- egress\.gitRepos: the stack has a gitToken[\s\S]*- runs\[0\]\.sandbox: sandbox "main" reaches its agent's API through the credential proxy \(auth: proxy\), but the stack has no anthropicApiKey/,
    );
    expect(declared).toEqual([]);
    await expect(
      evaluateProgram({
        config: { image, sandboxes: [{ name: "main", workspace: ws.dir }] },
        secrets: { anthropicApiKey: API_KEY, gitToken: GIT_TOKEN },
      }),
    ).rejects.toThrow(/- sandboxes\[0\]\.egress\.gitRepos: the stack has a gitToken, and git to whole hosts \(github\.com\)/);
  });
});
