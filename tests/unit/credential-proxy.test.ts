/**
 * The credential proxy's pure parts: the `egress.gitRepos` and `apiUpstream` config, the nginx
 * configuration it runs, which sandboxes get one and what they see of it, and the config rules that keep
 * the API key and the git token outside the sandbox.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { claude } from "../../components/agents/claude";
import { anthropic } from "../../components/agents/providers/anthropic";
import { credentialProblems } from "../../components/config/secret-rules";
import { parseStackConfig } from "../../components/config/stack-schema";
import { apiUpstreamSchema } from "../../components/credentials/config";
import { type CredentialProxyPlan, credentialProxyConfig, upstreamOf } from "../../components/credentials/nginx-conf";
import { credentialProxyEnvironment, credentialProxyPlanFor, type SecretsPresent } from "../../components/credentials/plan";
import { parseGitRepo } from "../../components/egress/git-repos";
import { DOCKER } from "../../components/engine/engine";
import { containerArgsFor } from "../../components/sandbox/container";
import { holdsGitToken } from "../../components/sandbox/git-token";
import { listedSandboxKey, shortcutSandboxKey } from "../../components/sandbox/host-checks";
import { sandboxTopology } from "../../components/sandbox/topology";
import { ConfigError, formatIssuePath } from "../../components/values/config-error";

const EXAMPLE = 'e.g. "github.com/my-org/my-repo" or "git.example.com:8443/group/repo"';
const UPSTREAM_EXAMPLE = 'e.g. "https://llm-gateway.example.com" or "https://llm-gateway.example.com/v2"';
const host = { homeDir: "/home/me" };
const sandboxOf = (extra: Record<string, unknown> = {}) =>
  parseStackConfig({ sandboxes: [{ name: "main", workspace: "/home/me/code/app", ...extra }] }, host).sandboxes[0];

function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    parseStackConfig(raw, host);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe("parseGitRepo", () => {
  it.each([
    ["github.com/my-org/my-repo", { host: "github.com", port: 443, path: "my-org/my-repo" }],
    // The host is lowercased (names are case-blind); the path keeps its case, the host's own decides.
    ["  GitHub.com/My-Org/My.Repo.git/ ", { host: "github.com", port: 443, path: "My-Org/My.Repo" }],
    ["git.example.com:8443/group/sub/repo", { host: "git.example.com", port: 8443, path: "group/sub/repo" }],
    ["host.docker.internal:3000/org/repo", { host: "host.docker.internal", port: 3000, path: "org/repo" }],
    ["gitlab.example.com:443/_team/repo_1", { host: "gitlab.example.com", port: 443, path: "_team/repo_1" }],
  ])("reads %j", (text, repo) => {
    expect(parseGitRepo(text)).toEqual({ ok: true, repo });
  });

  it.each([
    ["https://github.com/org/repo", "is a URL; write the host and the repository path without a scheme"],
    ["git@github.com:org/repo.git", "is a URL; write the host and the repository path without a scheme"],
    ["ssh://git@github.com/org/repo", "is a URL; write the host and the repository path without a scheme"],
    ["github.com:99999/org/repo", "has a bad port; a port is a number from 1 to 65535"],
    ["github.com:0/org/repo", "has a bad port; a port is a number from 1 to 65535"],
    ["github.com:ssh/org/repo", "has a bad port; a port is a number from 1 to 65535"],
    ["github.com:/org/repo", "has a bad port; a port is a number from 1 to 65535"],
    ["github.com:22:33/org/repo", "has a bad port; a port is a number from 1 to 65535"],
    ["localhost/org/repo", "does not start with a domain name"],
    ["10.0.0.1/org/repo", "names an IP address; write the git host's domain name"],
    ["169.254.169.254:443/latest/meta-data", "names an IP address; write the git host's domain name"],
    ["github_com/org/repo", "does not start with a domain name"],
    ["github.com", "needs the repository's path after the host (letters, digits, dots, dashes, underscores between slashes)"],
    ["github.com/", "needs the repository's path after the host (letters, digits, dots, dashes, underscores between slashes)"],
    ["github.com/org//repo", "needs the repository's path after the host (letters, digits, dots, dashes, underscores between slashes)"],
    ["github.com/org/../other", "needs the repository's path after the host (letters, digits, dots, dashes, underscores between slashes)"],
    ["github.com/org/-repo", "needs the repository's path after the host (letters, digits, dots, dashes, underscores between slashes)"],
    ["github.com/org/repo.lock", "needs the repository's path after the host (letters, digits, dots, dashes, underscores between slashes)"],
    ["github.com/org/re po", "needs the repository's path after the host (letters, digits, dots, dashes, underscores between slashes)"],
    ["github.com/org/re$po", "needs the repository's path after the host (letters, digits, dots, dashes, underscores between slashes)"],
  ])("refuses %j, showing it and a right value", (text, problem) => {
    expect(parseGitRepo(text)).toEqual({ ok: false, problem: `${JSON.stringify(text)} ${problem}, ${EXAMPLE}` });
  });

  it("reports refused entries at their index in egress.gitRepos, and a non-string with the example", () => {
    expect(
      problemsOf({ sandboxes: [{ name: "main", workspace: "/srv/app", egress: { gitRepos: ["github.com/org/ok", "https://x.example.com/a/b", 7] } }] }),
    ).toEqual([
      `sandboxes[0].egress.gitRepos[1]: "https://x.example.com/a/b" is a URL; write the host and the repository path without a scheme, ${EXAMPLE}`,
      `sandboxes[0].egress.gitRepos[2]: must be a repository string, ${EXAMPLE}`,
    ]);
  });
});

describe("apiUpstreamSchema", () => {
  const problems = (value: unknown) => {
    const parsed = z.object({ apiUpstream: apiUpstreamSchema }).safeParse({ apiUpstream: value });
    return parsed.success ? [] : parsed.error.issues.map((issue) => `${formatIssuePath(issue.path)}: ${issue.message}`);
  };

  it.each([
    ["http://llm-gateway.example.com", "is not https; the stack's API key would travel in clear text"],
    ["https://user:secret@llm-gateway.example.com", "carries credentials; the key is the stack's API key secret of the agent's API"],
    ["https://:secret@llm-gateway.example.com", "carries credentials; the key is the stack's API key secret of the agent's API"],
    ["https://llm-gateway.example.com/anthropic?key=1", "has a query or fragment; give the origin and at most a path prefix"],
    ["https://llm-gateway.example.com/#frag", "has a query or fragment; give the origin and at most a path prefix"],
    ["https://llm-gateway.example.com/a b", "has characters in its path that are not letters, digits or . _ ~ / -"],
    ["https://llm-gateway.example.com/a$b", "has characters in its path that are not letters, digits or . _ ~ / -"],
    ["llm-gateway.example.com", "is not a URL"],
  ])("refuses %j, naming why and a right value", (value, problem) => {
    expect(problems(value)).toEqual([`apiUpstream: ${JSON.stringify(value)} ${problem}, ${UPSTREAM_EXAMPLE}`]);
  });

  it("refuses a non-string with the example", () => {
    expect(problems(443)).toEqual([`apiUpstream: must be an https URL, ${UPSTREAM_EXAMPLE}`]);
  });

  it.each([
    ["https://api.anthropic.com", { host: "api.anthropic.com", port: 443, pathPrefix: "" }],
    ["https://llm-gateway.example.com/anthropic", { host: "llm-gateway.example.com", port: 443, pathPrefix: "/anthropic" }],
    ["https://LLM-Gateway.example.com:8443/team/anthropic/", { host: "llm-gateway.example.com", port: 8443, pathPrefix: "/team/anthropic" }],
  ])("accepts %j and keeps its path prefix", (value, upstream) => {
    expect(problems(value)).toEqual([]);
    expect(upstreamOf(value)).toEqual(upstream);
  });

  it("is checked at sandboxes[i].apiUpstream of the stack config", () => {
    expect(problemsOf({ sandboxes: [{ name: "main", workspace: "/srv/app", apiUpstream: "http://gw.example.com" }] })).toEqual([
      `sandboxes[0].apiUpstream: "http://gw.example.com" is not https; the stack's API key would travel in clear text, ${UPSTREAM_EXAMPLE}`,
    ]);
  });
});

/** The git smart-HTTP pkt-line length, computed here from the UTF-8 bytes rather than by the program's helper. */
function expectedPktLength(payload: string): string {
  const bytes = new TextEncoder().encode(payload).length + 4;
  return bytes.toString(16).padStart(4, "0");
}

/** The lines of the `server { listen <port>; … }` block, by brace depth (quoted text skipped). */
function serverBlock(conf: string, port: number): string[] {
  const lines = conf.split("\n");
  const start = lines.findIndex((line, index) => line.trim() === "server {" && lines[index + 1]?.trim() === `listen ${port};`);
  if (start < 0) return [];
  let depth = 0;
  for (let index = start; index < lines.length; index++) {
    depth += braceBalance(lines[index]);
    if (depth === 0) return lines.slice(start, index + 1).map((line) => line.trim());
  }
  throw new Error(`server ${port} is not closed`);
}

/** Opening minus closing braces outside quoted strings. */
function braceBalance(text: string): number {
  const bare = text.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, "");
  return (bare.match(/{/g) ?? []).length - (bare.match(/}/g) ?? []).length;
}

/** The location blocks of a server, each as its lines. */
function locations(block: string[]): string[][] {
  const found: string[][] = [];
  for (let index = 0; index < block.length; index++) {
    if (!block[index].startsWith("location ")) continue;
    let depth = 0;
    for (let end = index; end < block.length; end++) {
      depth += braceBalance(block[end]);
      if (depth === 0) {
        found.push(block.slice(index, end + 1));
        break;
      }
    }
  }
  return found;
}

describe("credentialProxyConfig", () => {
  const api = (hasKey: boolean, upstream = "https://api.anthropic.com"): CredentialProxyPlan["api"] => ({
    upstream: upstreamOf(upstream),
    provider: "anthropic",
    hasKey,
    missingKeyBody: anthropic.errorBody("agent-sandbox: the stack has no anthropicApiKey (sandbox main)"),
  });
  const repos = [
    { host: "github.com", port: 443, path: "my-org/my.repo" },
    { host: "git.example.com", port: 8443, path: "group/sub/repo" },
  ];
  const plan = (extra: Partial<CredentialProxyPlan> = {}): CredentialProxyPlan => ({
    sandboxName: "main",
    api: api(true),
    gitRepos: repos,
    hasGitToken: true,
    ...extra,
  });
  const conf = credentialProxyConfig(plan());

  it("is balanced, and has the API server on 8080, the git server on 8081 and the health check on loopback only", () => {
    expect(braceBalance(conf.replace(/\n/g, " "))).toBe(0);
    expect(serverBlock(conf, 8080).length).toBeGreaterThan(0);
    expect(serverBlock(conf, 8081).length).toBeGreaterThan(0);
    expect(conf).toContain('  server { listen 127.0.0.1:8079; access_log off; location = /healthz { return 200 "credential proxy ready\\n"; } }');
    expect(conf.match(/listen /g)).toHaveLength(3);
  });

  it("includes the key only when the stack has one, and clears every credential the client sent", () => {
    const server = serverBlock(conf, 8080);
    expect(server).toEqual([
      "server {",
      "listen 8080;",
      "location / {",
      "proxy_set_header Host api.anthropic.com;",
      "proxy_ssl_name api.anthropic.com;",
      'proxy_set_header Proxy-Authorization "";',
      'proxy_set_header Cookie "";',
      'proxy_set_header Authorization "";',
      "include /run/credential-proxy/api-key-anthropic.conf;",
      "proxy_pass https://api.anthropic.com:443$request_uri;",
      "}",
      "}",
    ]);
  });

  it("answers the API's own 401 JSON, naming anthropicApiKey, and forwards nothing when the stack has no key", () => {
    const withoutKey = credentialProxyConfig(plan({ api: api(false) }));
    const server = serverBlock(withoutKey, 8080);
    expect(withoutKey).not.toContain("api-key-");
    expect(server.join("\n")).not.toContain("proxy_pass");
    expect(server).toContain("default_type application/json;");
    const returned = server.find((line) => line.startsWith("return 401 "))!;
    const body = JSON.parse(returned.match(/^return 401 '(.*)';$/)![1]);
    expect(body).toEqual({ type: "error", error: { type: "authentication_error", message: "agent-sandbox: the stack has no anthropicApiKey (sandbox main)" } });
  });

  it("forwards under a gateway's path prefix with its own Host and TLS name", () => {
    const server = serverBlock(credentialProxyConfig(plan({ api: api(true, "https://gw.example.com:8443/anthropic") })), 8080);
    expect(server).toContain("proxy_set_header Host gw.example.com:8443;");
    expect(server).toContain("proxy_ssl_name gw.example.com;");
    expect(server).toContain("proxy_pass https://gw.example.com:8443/anthropic$request_uri;");
  });

  it("verifies every upstream over TLS against the trusted CAs of the secrets volume", () => {
    for (const line of [
      "proxy_ssl_verify on;",
      "proxy_ssl_server_name on;",
      "proxy_ssl_trusted_certificate /run/credential-proxy/trusted-ca.pem;",
      "proxy_ssl_protocols TLSv1.2 TLSv1.3;",
    ]) {
      expect(conf.split("\n").map((each) => each.trim())).toContain(line);
    }
    expect(conf).not.toMatch(/proxy_pass http:\/\//);
    expect(conf).not.toMatch(/proxy_ssl_verify off/);
  });

  it("has one location per listed repository, its regex escaped, forwarding only git's three endpoints", () => {
    const repoLocations = locations(serverBlock(conf, 8081)).filter((location) => location[0].startsWith("location ~ ^/"));
    expect(repoLocations.map((location) => location[0])).toEqual([
      "location ~ ^/github\\.com/my-org/my\\.repo(\\.git)?/(info/refs|git-upload-pack|git-receive-pack)$ {",
      "location ~ ^/git\\.example\\.com:8443/group/sub/repo(\\.git)?/(info/refs|git-upload-pack|git-receive-pack)$ {",
    ]);
    const [github, gitlab] = repoLocations;
    expect(github).toEqual([
      github[0],
      "limit_except GET POST { deny all; }",
      "proxy_set_header Host github.com;",
      "proxy_ssl_name github.com;",
      'proxy_set_header Proxy-Authorization "";',
      'proxy_set_header Cookie "";',
      "include /run/credential-proxy/git-authorization.conf;",
      "proxy_pass https://github.com:443/my-org/my.repo$1/$2$is_args$args;",
      "}",
    ]);
    expect(gitlab).toContain("proxy_set_header Host git.example.com:8443;");
    expect(gitlab).toContain("proxy_pass https://git.example.com:8443/group/sub/repo$1/$2$is_args$args;");
  });

  it("matches the listed repository's URLs and no look-alike (the regex read as PCRE, which JavaScript's agrees with here)", () => {
    const first = locations(serverBlock(conf, 8081)).find((location) => location[0].startsWith("location ~ ^/github"))!;
    const regex = new RegExp(first[0].replace(/^location ~ /, "").replace(/ \{$/, ""));
    for (const uri of [
      "/github.com/my-org/my.repo/info/refs",
      "/github.com/my-org/my.repo.git/git-upload-pack",
      "/github.com/my-org/my.repo/git-receive-pack",
    ]) {
      expect(uri).toMatch(regex);
    }
    for (const uri of [
      "/github.com/my-org/myXrepo/info/refs",
      "/githubXcom/my-org/my.repo/info/refs",
      "/github.com/my-org/my.repo.evil/info/refs",
      "/github.com/my-org/my.repo/objects/info/packs",
      "/evil.example/github.com/my-org/my.repo/info/refs",
      "/github.com/my-org/my.repo/info/refs/extra",
    ]) {
      expect(uri).not.toMatch(regex);
    }
  });

  it("clears the client's Authorization on git instead of adding one when the stack has no git token", () => {
    const anonymous = credentialProxyConfig(plan({ hasGitToken: false }));
    expect(anonymous).not.toContain("git-authorization.conf");
    for (const location of locations(serverBlock(anonymous, 8081)).filter((each) => each[0].startsWith("location ~ ^/"))) {
      expect(location).toContain('proxy_set_header Authorization "";');
      expect(location).toContain('proxy_set_header Proxy-Authorization "";');
      expect(location).toContain('proxy_set_header Cookie "";');
    }
  });

  it("refuses any other repository with a git ERR pkt-line of the right length, typed for the service asked for, naming egress.gitRepos", () => {
    const refusal =
      "agent-sandbox: this repository is not in egress.gitRepos of sandbox main; add it there (e.g. github.com/org/repo) for the agent to fetch and push it";
    const payload = `ERR ${refusal}\n`;
    const length = expectedPktLength(payload);
    // 4 length digits, "ERR ", the message, the newline: 0x9d = 157 bytes for this sandbox name.
    expect(length).toBe((4 + 4 + refusal.length + 1).toString(16).padStart(4, "0"));
    const server = serverBlock(conf, 8081);
    for (const service of ["upload-pack", "receive-pack"]) {
      const refused = locations(server).find((location) => location[0] === `location = /.refused/${service} {`)!;
      expect(refused).toEqual([
        `location = /.refused/${service} {`,
        "internal;",
        `default_type application/x-git-${service}-advertisement;`,
        `return 200 "${length}ERR ${refusal}\\n";`,
        "}",
      ]);
    }
    expect(server).toContain('if ($arg_service = "git-receive-pack") { rewrite ^ /.refused/receive-pack last; }');
    expect(server).toContain(`location / { return 403 "${refusal}\\n"; }`);
  });

  it("keeps the pkt-line length right for a longer sandbox name", () => {
    const name = "a-much-longer-sandbox-name_with.dots";
    const payload = `ERR agent-sandbox: this repository is not in egress.gitRepos of sandbox ${name}; add it there (e.g. github.com/org/repo) for the agent to fetch and push it\n`;
    const long = credentialProxyConfig(plan({ sandboxName: name }));
    expect(long).toContain(`return 200 "${expectedPktLength(payload)}${payload.replace("\n", "\\n")}";`);
  });

  it("puts a placeholder for the Docker host's address where an upstream is host.docker.internal, keeping its name for Host and TLS", () => {
    const local = credentialProxyConfig(
      plan({ api: api(true, "https://host.docker.internal:8443/v1"), gitRepos: [{ host: "host.docker.internal", port: 3000, path: "org/repo" }] }),
    );
    expect(serverBlock(local, 8080)).toEqual(
      expect.arrayContaining([
        "proxy_set_header Host host.docker.internal:8443;",
        "proxy_ssl_name host.docker.internal;",
        "proxy_pass https://@HOST_GATEWAY@:8443/v1$request_uri;",
      ]),
    );
    expect(serverBlock(local, 8081)).toEqual(
      expect.arrayContaining(["proxy_set_header Host host.docker.internal:3000;", "proxy_pass https://@HOST_GATEWAY@:3000/org/repo$1/$2$is_args$args;"]),
    );
    expect(local).not.toMatch(/proxy_pass https:\/\/host\.docker\.internal/);
  });

  it("logs neither a header, a cookie nor a query string: the path, status and sizes only", () => {
    const format = conf.split("\n").find((line) => line.trim().startsWith("log_format "))!;
    expect(format).toBe(
      "  log_format credentials '$time_iso8601 sandbox=main client=$remote_addr port=$server_port $status $request_method $uri bytes=$body_bytes_sent upstream=$upstream_status';",
    );
    expect(format).not.toMatch(/\$(http_|sent_http_|cookie_|arg_|args|query_string|request_uri|request\b|request_body)/);
    expect(conf).toContain("access_log /dev/stdout credentials;");
    // Every access log uses that format (or none).
    expect(conf.match(/access_log [^;]*;/g)).toEqual(["access_log /dev/stdout credentials;", "access_log off;"]);
  });

  it("has no API server under auth subscription, and no git server without repositories", () => {
    const gitOnly = credentialProxyConfig(plan({ api: undefined }));
    expect(serverBlock(gitOnly, 8080)).toEqual([]);
    expect(serverBlock(gitOnly, 8081).length).toBeGreaterThan(0);
    const apiOnly = credentialProxyConfig(plan({ gitRepos: [] }));
    expect(serverBlock(apiOnly, 8081)).toEqual([]);
    expect(apiOnly).not.toContain("git-authorization.conf");
  });

  it("refuses a sandbox name that could break the configuration", () => {
    expect(() => credentialProxyConfig(plan({ sandboxName: "a'; include /etc/passwd; #" }))).toThrow(/sandboxName "a'; include/);
    expect(() => credentialProxyConfig(plan({ sandboxName: "a b" }))).toThrow(/sandboxName/);
  });

  it("holds no secret: only the names of the files that do", () => {
    expect(conf).not.toMatch(/x-api-key|Basic /);
  });
});

describe("which sandboxes get a credential proxy", () => {
  const secrets = { apiKeys: ["anthropicApiKey"], gitToken: true };

  it.each([
    ["the defaults (allowlist, auth proxy)", {}, true],
    ["open egress under auth proxy", { egress: { mode: "open" }, acknowledgeUnsafe: ["open-egress"] }, true],
    ["auth subscription without repositories", { auth: "subscription" }, false],
    ["auth subscription with repositories", { auth: "subscription", egress: { gitRepos: ["github.com/org/repo"] } }, true],
    ["egress mode none", { egress: { mode: "none" } }, false],
    ["the host network", { hostNetwork: true, auth: "subscription", egress: { mode: "open" }, acknowledgeUnsafe: ["host-network", "open-egress"] }, false],
  ])("%s: %s", (_, extra, expected) => {
    const sandbox = sandboxOf(extra);
    expect(sandboxTopology(sandbox).credentialProxy).toBe(expected);
    const refs = { imageId: "sha256:agent", networkName: "net", homeVolume: "home", protectedPaths: [], cloneVolume: "clone", engine: DOCKER };
    const envs = containerArgsFor({ project: "p", stack: "s" }, sandbox, { uid: 1000, gid: 1000 }, refs).envs as string[];
    const pointsAtProxy = envs.some((entry) => entry.startsWith(`${claude.api.baseUrlEnv}=`) || entry.startsWith("GIT_CONFIG_COUNT="));
    expect(pointsAtProxy).toBe(expected);
  });

  it("plans the agent's API at its default upstream with its key header, and the key's presence", () => {
    const plan = credentialProxyPlanFor(sandboxOf(), { apiKeys: [], gitToken: false })!;
    expect(plan).toMatchObject({
      sandboxName: "main",
      api: { upstream: { host: "api.anthropic.com", port: 443, pathPrefix: "" }, provider: "anthropic", hasKey: false },
      gitRepos: [],
      hasGitToken: false,
    });
    const body = JSON.parse(plan.api!.missingKeyBody);
    expect(body.error.type).toBe("authentication_error");
    expect(body.error.message).toContain("pulumi config set --secret anthropicApiKey <key>");
    expect(body.error.message).toContain("sandbox main");
    expect(credentialProxyPlanFor(sandboxOf(), secrets)!.api!.hasKey).toBe(true);
  });

  it("sends the API to apiUpstream, and git to the listed repositories, with the token's presence", () => {
    const plan = credentialProxyPlanFor(
      sandboxOf({ apiUpstream: "https://gw.example.com/anthropic", egress: { gitRepos: ["github.com/org/repo", "git.example.com:8443/g/r"] } }),
      secrets,
    )!;
    expect(plan.api!.upstream).toEqual({ host: "gw.example.com", port: 443, pathPrefix: "/anthropic" });
    expect(plan.gitRepos).toEqual([
      { host: "github.com", port: 443, path: "org/repo" },
      { host: "git.example.com", port: 8443, path: "g/r" },
    ]);
    expect(plan.hasGitToken).toBe(true);
  });

  it("has no API route under auth subscription", () => {
    expect(credentialProxyPlanFor(sandboxOf({ auth: "subscription", egress: { gitRepos: ["github.com/org/repo"] } }), secrets)!.api).toBeUndefined();
  });
});

describe("what the sandbox sees of its credential proxy", () => {
  const GIT = {
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "url.http://credential-proxy:8081/.insteadOf",
    GIT_CONFIG_VALUE_0: "https://",
    GIT_TERMINAL_PROMPT: "0",
  };

  it("points the agent at the proxy with a placeholder key under auth proxy", () => {
    expect(credentialProxyEnvironment(sandboxOf())).toEqual({
      ANTHROPIC_BASE_URL: "http://credential-proxy:8080",
      ANTHROPIC_API_KEY: "added-by-credential-proxy",
    });
  });

  it("rewrites every https remote to the proxy's git port, with prompts off, when repositories are listed", () => {
    expect(credentialProxyEnvironment(sandboxOf({ egress: { gitRepos: ["github.com/org/repo"] } }))).toEqual({
      ANTHROPIC_BASE_URL: "http://credential-proxy:8080",
      ANTHROPIC_API_KEY: "added-by-credential-proxy",
      ...GIT,
    });
    expect(credentialProxyEnvironment(sandboxOf({ auth: "subscription", egress: { gitRepos: ["github.com/org/repo"] } }))).toEqual(GIT);
  });

  it("sends a listed remote to the location the proxy forwards, as git itself rewrites it", () => {
    // git's url.<base>.insteadOf: the longest matching prefix is replaced by <base>.
    const rewrite = (remote: string) => remote.replace(/^https:\/\//, GIT.GIT_CONFIG_KEY_0.replace(/^url\./, "").replace(/\.insteadOf$/, ""));
    expect(rewrite("https://github.com/org/repo.git")).toBe("http://credential-proxy:8081/github.com/org/repo.git");
    expect(rewrite("https://git.example.com:8443/g/r")).toBe("http://credential-proxy:8081/git.example.com:8443/g/r");
  });
});

describe("holdsGitToken", () => {
  const ack = { acknowledgeUnsafe: ["credentials-in-sandbox"] };

  it("is true only with a token, git hosts by CONNECT, an own network and the acknowledgement", () => {
    expect(holdsGitToken(sandboxOf(ack), { apiKeys: [], gitToken: true })).toBe(true);
    expect(holdsGitToken(sandboxOf(ack), { apiKeys: ["anthropicApiKey"], gitToken: false })).toBe(false);
    expect(holdsGitToken(sandboxOf(), { apiKeys: ["anthropicApiKey"], gitToken: true })).toBe(false);
    expect(holdsGitToken(sandboxOf({ ...ack, egress: { gitHosts: [] } }), { apiKeys: ["anthropicApiKey"], gitToken: true })).toBe(false);
    expect(holdsGitToken(sandboxOf({ ...ack, egress: { mode: "none" } }), { apiKeys: ["anthropicApiKey"], gitToken: true })).toBe(false);
    expect(holdsGitToken(sandboxOf({ ...ack, egress: { gitHosts: ["gitlab.example.com"] } }), { apiKeys: ["anthropicApiKey"], gitToken: true })).toBe(true);
  });

  it("is false once gitRepos lists repositories: the proxy holds the token then, acknowledged or not", () => {
    expect(holdsGitToken(sandboxOf({ ...ack, egress: { gitRepos: ["github.com/org/repo"] } }), { apiKeys: ["anthropicApiKey"], gitToken: true })).toBe(false);
  });
});

describe("config rules of the credential proxy", () => {
  const problemsWith = (raw: Record<string, unknown>, present: SecretsPresent) => {
    const config = parseStackConfig(raw, host);
    return credentialProblems(config, present, raw.sandboxes === undefined ? shortcutSandboxKey : listedSandboxKey);
  };
  const listed = (extra: Record<string, unknown> = {}, runs: unknown[] = []) => ({
    sandboxes: [{ name: "main", workspace: "/srv/app", ...extra }],
    runs,
  });
  const RUN = { name: "r", sandbox: "main", prompt: "hi" };
  const NO_KEY =
    'runs[0].sandbox: sandbox "main" reaches its agent\'s API through the credential proxy (auth: proxy), but the stack has no anthropicApiKey; run: pulumi config set --secret anthropicApiKey <key>, or set auth: "subscription" on the sandbox to use a login kept in its home volume';
  const tokenInside = (key: string, hosts = "github.com") =>
    `${key}: the stack has a gitToken, and git to whole hosts (${hosts}) would read it inside the sandbox, where a hijacked agent could push with it anywhere; list the repositories the agent may fetch and push, e.g. gitRepos: ["github.com/my-org/my-repo"], so the credential proxy adds the token outside the sandbox, or accept the weaker setup with acknowledgeUnsafe: ["credentials-in-sandbox"]`;

  it("needs anthropicApiKey for a run on an auth-proxy sandbox, at runs[i].sandbox", () => {
    expect(problemsWith(listed({}, [RUN]), { apiKeys: [], gitToken: false })).toEqual([NO_KEY]);
    expect(problemsWith(listed({}, [RUN]), { apiKeys: ["anthropicApiKey"], gitToken: false })).toEqual([]);
    expect(problemsWith(listed({ auth: "subscription" }, [RUN]), { apiKeys: [], gitToken: false })).toEqual([]);
    // A sandbox without runs needs no key: its proxy answers the API's 401 explaining how to set one.
    expect(problemsWith(listed(), { apiKeys: [], gitToken: false })).toEqual([]);
  });

  it("names every run that lacks the key, by its index", () => {
    const runs = [RUN, { name: "s", sandbox: "main", prompt: "again" }];
    expect(problemsWith(listed({}, runs), { apiKeys: [], gitToken: false })).toEqual([NO_KEY, NO_KEY.replace("runs[0]", "runs[1]")]);
  });

  it("refuses a git token that git to whole hosts would read inside the sandbox, at egress.gitRepos", () => {
    expect(problemsWith(listed(), { apiKeys: ["anthropicApiKey"], gitToken: true })).toEqual([tokenInside("sandboxes[0].egress.gitRepos")]);
    expect(problemsWith({ workspace: "/srv/app" }, { apiKeys: ["anthropicApiKey"], gitToken: true })).toEqual([tokenInside("egress.gitRepos")]);
    expect(problemsWith(listed({ egress: { gitHosts: ["gitlab.example.com", "*.example.org"] } }), { apiKeys: ["anthropicApiKey"], gitToken: true })).toEqual([
      tokenInside("sandboxes[0].egress.gitRepos", "gitlab.example.com, example.org"),
    ]);
  });

  it("accepts the git token with repositories listed, with the acknowledgement, with no CONNECT git host, or where no network reaches one", () => {
    const present = { apiKeys: ["anthropicApiKey"], gitToken: true };
    expect(problemsWith(listed({ egress: { gitRepos: ["github.com/org/repo"] } }), present)).toEqual([]);
    expect(problemsWith(listed({ acknowledgeUnsafe: ["credentials-in-sandbox"] }), present)).toEqual([]);
    expect(problemsWith(listed({ egress: { gitHosts: [] } }), present)).toEqual([]);
    // Without the defaults no git host is on the allowlist, so git cannot reach one by CONNECT.
    expect(problemsWith(listed({ egress: { includeDefaults: false } }), present)).toEqual([]);
    expect(problemsWith(listed({ egress: { mode: "none" } }), present)).toEqual([]);
    expect(problemsWith(listed(), { apiKeys: ["anthropicApiKey"], gitToken: false })).toEqual([]);
  });

  it("refuses gitHosts together with gitRepos, at gitHosts", () => {
    expect(problemsOf(listed({ egress: { gitRepos: ["github.com/org/repo"], gitHosts: ["github.com"] } }))).toEqual([
      "sandboxes[0].egress.gitHosts: with gitRepos set, git reaches only those repositories through the credential proxy; remove gitHosts (the weaker CONNECT to whole hosts)",
    ]);
    // An empty gitHosts is still a gitHosts: the two ways do not mix.
    expect(problemsOf(listed({ egress: { gitRepos: ["github.com/org/repo"], gitHosts: [] } }))).toHaveLength(1);
  });

  it("refuses gitRepos where there is no network", () => {
    expect(problemsOf(listed({ egress: { mode: "none", gitRepos: ["github.com/org/repo"] } }))).toEqual([
      'sandboxes[0].egress.gitRepos: has no effect when egress.mode is "none" (no network); remove it or use mode "allowlist"',
    ]);
  });

  it("refuses the host network under auth proxy, at auth", () => {
    expect(problemsOf(listed({ hostNetwork: true, egress: { mode: "open" }, acknowledgeUnsafe: ["host-network", "open-egress"] }))).toEqual([
      'sandboxes[0].auth: a sandbox on the host network cannot reach a credential proxy, so its agent has no key; set auth: "subscription" (a login kept in its home volume) or drop hostNetwork',
    ]);
  });

  it("refuses an auth that is neither proxy nor subscription", () => {
    expect(problemsOf(listed({ auth: "oauth" }))).toEqual([
      'sandboxes[0].auth: must be "proxy" (the credential proxy adds the API key outside the sandbox) or "subscription" (a login kept in the home volume)',
    ]);
  });

  it.each([
    ["ANTHROPIC_BASE_URL", {}, "the credential proxy's address under auth proxy; set apiUpstream to send the agent's API requests elsewhere"],
    ["ANTHROPIC_API_KEY", {}, "the placeholder the credential proxy replaces with anthropicApiKey"],
    ["GIT_CONFIG_COUNT", { egress: { gitRepos: ["github.com/org/repo"] } }, "git's way to the credential proxy for egress.gitRepos"],
    ["GIT_CONFIG_KEY_0", { egress: { gitRepos: ["github.com/org/repo"] } }, "git's way to the credential proxy for egress.gitRepos"],
    ["GIT_CONFIG_VALUE_0", { egress: { gitRepos: ["github.com/org/repo"] } }, "git's way to the credential proxy for egress.gitRepos"],
    ["GIT_TERMINAL_PROMPT", { egress: { gitRepos: ["github.com/org/repo"] } }, "git's way to the credential proxy for egress.gitRepos"],
  ])("refuses env %s, which the credential proxy's setup sets", (name, extra, why) => {
    // An empty value, so only the own-variable rule (not the secret-looking one) can apply.
    expect(problemsOf(listed({ ...extra, env: { [name]: "" } }))).toEqual([
      `sandboxes[0].env.${name}: is set by the sandbox itself (${why}) and would be overwritten; remove it`,
    ]);
  });

  it.each(["ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"])("refuses env %s, a credential of the agent, even empty", (name) => {
    expect(problemsOf(listed({ env: { [name]: "" } }))).toEqual([
      `sandboxes[0].env.${name}: is a credential of the agent, which under auth proxy only the credential proxy adds, outside the sandbox; remove it, or set auth: "subscription"`,
    ]);
  });

  it("lets a sandbox without a credential proxy set those variables itself", () => {
    expect(problemsOf(listed({ auth: "subscription", env: { ANTHROPIC_BASE_URL: "http://x", GIT_CONFIG_COUNT: "1" } }))).toEqual([]);
    expect(problemsOf(listed({ egress: { mode: "none" }, env: { ANTHROPIC_BASE_URL: "http://x" } }))).toEqual([]);
  });
});
