import { describe, expect, it } from "vitest";
import { z } from "zod";
import { claude } from "../../components/agents/claude";
import { defaultAllowlist, type EgressPolicy, parseAllowEntry } from "../../components/egress/allowlist";
import { connectGitHosts, egressConfigSchema, egressPolicyFor, healthProbeEnvironment } from "../../components/egress/config";
import { proxyContainerArgs } from "../../components/egress/egress-proxy";
import { deniedLogCommand, proxyEnvironment, sandboxNetworkSettings } from "../../components/egress/network";
import { squidConfigFor } from "../../components/egress/squid";
import { engineClient } from "../../components/engine/client";
import { DOCKER, PODMAN, PODMAN_ISOLATED_BRIDGE_PREFIX } from "../../components/engine/engine";
import { formatIssuePath } from "../../components/values/config-error";

/** Problems as the stack config prints them: `path: message`, an unknown key's path ending in the key. */
function problems(raw: unknown): string[] {
  const parsed = z.object({ egress: egressConfigSchema }).safeParse({ egress: raw });
  if (parsed.success) return [];
  return parsed.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => `${formatIssuePath([...issue.path, key])}: ${issue.message}`)
      : [`${formatIssuePath(issue.path)}: ${issue.message}`],
  );
}

describe("egress config schema", () => {
  it("defaults to the allowlist mode with the defaults and github.com by CONNECT, no repositories, no extra names, no host ports", () => {
    const egress = egressConfigSchema.parse(undefined);
    expect(egress).toEqual({
      mode: "allowlist",
      allow: [],
      includeDefaults: true,
      gitRepos: [],
      hostPorts: [],
      healthProbe: { denied: "http://egress-denied-probe.invalid/" },
    });
    // gitHosts left unset means github.com, unless gitRepos lists repositories.
    expect(connectGitHosts(egress)).toEqual([{ host: "github.com", wildcard: false }]);
  });

  it("probes the agent's API under auth subscription only, and always a name no allowlist holds, unless told otherwise", () => {
    const defaults = egressConfigSchema.parse(undefined);
    expect(healthProbeEnvironment(defaults, "claude", "subscription")).toEqual({
      AGENT_EGRESS_PROBE_ALLOWED: "https://api.anthropic.com/",
      AGENT_EGRESS_PROBE_DENIED: "http://egress-denied-probe.invalid/",
    });
    // Under auth proxy the API is not on the allowlist (the credential proxy reaches it), so no default probe expects it.
    expect(healthProbeEnvironment(defaults, "claude", "proxy")).toEqual({ AGENT_EGRESS_PROBE_DENIED: "http://egress-denied-probe.invalid/" });
    expect(healthProbeEnvironment(egressConfigSchema.parse({ includeDefaults: false }), "claude", "subscription")).toEqual({
      AGENT_EGRESS_PROBE_DENIED: "http://egress-denied-probe.invalid/",
    });
    for (const auth of ["proxy", "subscription"] as const) {
      expect(
        healthProbeEnvironment(egressConfigSchema.parse({ healthProbe: { allowed: "http://allowed.test/" } }), "claude", auth).AGENT_EGRESS_PROBE_ALLOWED,
      ).toBe("http://allowed.test/");
    }
  });

  it("parses names, wildcards and ports into entries", () => {
    const config = egressConfigSchema.parse({ allow: ["Registry.Example.com", "*.github.com:443"], hostPorts: [8080] });
    expect(config.allow).toEqual([
      { host: "registry.example.com", wildcard: false },
      { host: "github.com", wildcard: true, port: 443 },
    ]);
    expect(config.hostPorts).toEqual([8080]);
  });

  it.each([
    [
      "https://example.com/path",
      'egress.allow[0]: "https://example.com/path" is a URL; write only the host name (and port), e.g. "api.github.com", "*.github.com" or "registry.example.com:8443"',
    ],
    [
      "example.com/path",
      'egress.allow[0]: "example.com/path" is a URL; write only the host name (and port), e.g. "api.github.com", "*.github.com" or "registry.example.com:8443"',
    ],
    [
      "10.0.0.5",
      'egress.allow[0]: "10.0.0.5" is an IP address; the allowlist takes domain names, e.g. "api.github.com", "*.github.com" or "registry.example.com:8443"',
    ],
    [
      "10.0.0.5:443",
      'egress.allow[0]: "10.0.0.5:443" is an IP address; the allowlist takes domain names, e.g. "api.github.com", "*.github.com" or "registry.example.com:8443"',
    ],
    [
      "[::1]:443",
      'egress.allow[0]: "[::1]:443" is an IP address; the allowlist takes domain names, e.g. "api.github.com", "*.github.com" or "registry.example.com:8443"',
    ],
    ["api.*.github.com", 'egress.allow[0]: "api.*.github.com" has a wildcard in the middle; only a leading "*." is allowed, e.g. "*.github.com"'],
    ["*github.com", 'egress.allow[0]: "*github.com" has a wildcard in the middle; only a leading "*." is allowed, e.g. "*.github.com"'],
    ["*.com", 'egress.allow[0]: "*.com" is too broad: a wildcard must sit under a registered domain, e.g. "*.github.com"'],
    [
      "*.co.uk",
      'egress.allow[0]: "*.co.uk" is too broad: co.uk is a public suffix, under which anyone can register names; put the wildcard under a registered domain, e.g. "*.example.co.uk"',
    ],
    [
      "*.github.io:443",
      'egress.allow[0]: "*.github.io:443" is too broad: github.io is a public suffix, under which anyone can register names; put the wildcard under a registered domain, e.g. "*.example.github.io"',
    ],
    [
      "*.s3.amazonaws.com",
      'egress.allow[0]: "*.s3.amazonaws.com" is too broad: s3.amazonaws.com is a public suffix, under which anyone can register names; put the wildcard under a registered domain, e.g. "*.example.s3.amazonaws.com"',
    ],
    ["*", 'egress.allow[0]: "*" has a wildcard in the middle; only a leading "*." is allowed, e.g. "*.github.com"'],
    ["localhost", 'egress.allow[0]: "localhost" is not a fully qualified domain name, e.g. "api.github.com", "*.github.com" or "registry.example.com:8443"'],
    ["github.com:https", 'egress.allow[0]: "github.com:https" has port "https"; a port is a number from 1 to 65535, e.g. "api.github.com:443"'],
    ["github.com:70000", 'egress.allow[0]: "github.com:70000" has port "70000"; a port is a number from 1 to 65535, e.g. "api.github.com:443"'],
    [
      "under_score.example.com",
      'egress.allow[0]: "under_score.example.com" is not a valid domain name (letters, digits and dashes between dots), e.g. "api.github.com", "*.github.com" or "registry.example.com:8443"',
    ],
    [
      "host.docker.internal:8080",
      'egress.allow[0]: "host.docker.internal:8080" names the Docker host; list its ports under egress.hostPorts instead, e.g. hostPorts: [8080]',
    ],
    ["", 'egress.allow[0]: must not be empty; write a domain name, e.g. "api.github.com", "*.github.com" or "registry.example.com:8443"'],
  ])("refuses allow entry %j", (entry, message) => {
    expect(problems({ allow: [entry] })).toEqual([message]);
  });

  it("accepts a wildcard under a registered domain, and a single host that is a public suffix", () => {
    expect(egressConfigSchema.parse({ allow: ["*.example.co.uk", "*.mycorp.internal", "*.pages.github.io", "github.io"] }).allow).toEqual([
      { host: "example.co.uk", wildcard: true },
      { host: "mycorp.internal", wildcard: true },
      { host: "pages.github.io", wildcard: true },
      { host: "github.io", wildcard: false },
    ]);
  });

  it("refuses a host port outside 1-65535 and an unknown mode, naming the key", () => {
    expect(problems({ mode: "closed", hostPorts: [0, 8080.5] })).toEqual([
      'egress.mode: must be "allowlist", "open" or "none"',
      "egress.hostPorts[0]: must be a whole number from 1 to 65535 (a port of the Docker host), e.g. 8080",
      "egress.hostPorts[1]: must be a whole number from 1 to 65535 (a port of the Docker host), e.g. 8080",
    ]);
  });

  it("refuses allow entries and host ports that a non-allowlist mode would silently ignore", () => {
    expect(problems({ mode: "none", allow: ["example.com"], hostPorts: [8080] })).toEqual([
      'egress.allow: has no effect when egress.mode is "none"; remove it or use mode "allowlist"',
      'egress.hostPorts: has no effect when egress.mode is "none"; remove it or use mode "allowlist"',
    ]);
  });

  it("lists the valid keys when one is misspelled", () => {
    expect(problems({ allowlist: [] })).toEqual([
      "egress.allowlist: unknown key (valid here: mode, allow, includeDefaults, gitHosts, gitRepos, hostPorts, healthProbe)",
    ]);
  });

  it("reports every bad entry at once", () => {
    expect(problems({ allow: ["ok.example.com", "1.2.3.4", "a/b"] }).map((problem) => problem.split(":")[0])).toEqual(["egress.allow[1]", "egress.allow[2]"]);
  });
});

describe("parseAllowEntry", () => {
  it("trims and lowercases", () => {
    expect(parseAllowEntry("  API.Example.COM:8443 ")).toEqual({ ok: true, entry: { host: "api.example.com", wildcard: false, port: 8443 } });
  });
});

describe("default allowlist", () => {
  const shown = (entries: readonly { host: string; wildcard: boolean; port?: number }[]) =>
    entries.map((entry) => `${entry.wildcard ? "*." : ""}${entry.host}:${entry.port}`);

  it("holds the agent's API and sign-in endpoints and the git hosts, all on 443, under auth subscription", () => {
    const git = connectGitHosts(egressConfigSchema.parse({}));
    expect(shown(defaultAllowlist(claude, "subscription", git))).toEqual([
      "api.anthropic.com:443",
      "claude.ai:443",
      "console.anthropic.com:443",
      "platform.claude.com:443",
      "github.com:443",
    ]);
  });

  it("holds only the git hosts under auth proxy: the credential proxy reaches the API, and sign-in is refused", () => {
    const git = connectGitHosts(egressConfigSchema.parse({}));
    expect(shown(defaultAllowlist(claude, "proxy", git))).toEqual(["github.com:443"]);
    expect(shown(egressPolicyFor(egressConfigSchema.parse({}), "claude", "proxy").allow)).toEqual(["github.com:443"]);
  });

  it("holds no git host at all once gitRepos lists repositories, under either auth", () => {
    const egress = egressConfigSchema.parse({ gitRepos: ["github.com/org/repo"] });
    expect(connectGitHosts(egress)).toEqual([]);
    expect(egressPolicyFor(egress, "claude", "proxy")).toEqual({ allow: [], hostPorts: [] });
    expect(shown(egressPolicyFor(egress, "claude", "subscription").allow)).toEqual([
      "api.anthropic.com:443",
      "claude.ai:443",
      "console.anthropic.com:443",
      "platform.claude.com:443",
    ]);
  });

  it("keeps the explicit gitHosts by CONNECT when gitRepos is empty", () => {
    const egress = egressConfigSchema.parse({ gitHosts: ["gitlab.example.com"] });
    expect(shown(egressPolicyFor(egress, "claude", "proxy").allow)).toEqual(["gitlab.example.com:443"]);
  });

  it("is left out with includeDefaults: false", () => {
    for (const auth of ["proxy", "subscription"] as const) {
      const policy = egressPolicyFor(
        egressConfigSchema.parse({ includeDefaults: false, allow: ["example.com"], hostPorts: [9000, 3000, 9000] }),
        "claude",
        auth,
      );
      expect(policy).toEqual({ allow: [{ host: "example.com", wildcard: false }], hostPorts: [3000, 9000] });
    }
  });
});

describe("squid config", () => {
  const policy: EgressPolicy = {
    allow: [
      { host: "api.anthropic.com", wildcard: false, port: 443 },
      { host: "github.com", wildcard: true, port: 443 },
      { host: "api.github.com", wildcard: false, port: 443 },
      { host: "registry.example.com", wildcard: false },
    ],
    hostPorts: [3000, 8080],
  };
  const conf = squidConfigFor(policy, { sandboxName: "main" });

  it("allows each port's names only when the resolved address is not refused", () => {
    expect(conf).toContain(
      [
        "acl allowed_80 dstdomain -n registry.example.com",
        "acl port_80 port 80",
        "http_access allow allowed_80 port_80 !refused_destinations",
        "acl allowed_443 dstdomain -n .github.com api.anthropic.com registry.example.com",
        "acl port_443 port 443",
        "http_access allow allowed_443 port_443 !refused_destinations",
        "http_access deny all",
      ].join("\n"),
    );
  });

  it("refuses private, loopback and link-local destinations, the metadata address among them", () => {
    const refused = conf.split("\n").find((line) => line.startsWith("acl refused_destinations dst "))!;
    for (const range of ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10", "::1", "fc00::/7", "fe80::/10"]) {
      expect(refused.split(" ")).toContain(range);
    }
  });

  it("lets the host gateway through on the listed ports only, before the refused ranges apply", () => {
    expect(conf).toContain("acl host_gateway dstdomain -n host.docker.internal\nacl host_ports port 3000 8080\nhttp_access allow host_gateway host_ports\n");
    expect(conf.indexOf("allow host_gateway")).toBeLessThan(conf.indexOf("http_access allow allowed_"));
    expect(squidConfigFor({ ...policy, hostPorts: [] }, { sandboxName: "main" })).not.toContain("host_gateway");
  });

  it("logs time, sandbox and destination, and keeps the healthcheck probe out of the log", () => {
    expect(conf).toContain("logformat egress %{%Y-%m-%dT%H:%M:%S%z}tl sandbox=main client=%>a %Ss/%>Hs %rm %ru bytes=%<st");
    expect(conf).toContain("access_log stdio:/dev/stdout logformat=egress !egress_healthcheck");
  });

  it("keeps all state on the tmpfs and caches nothing", () => {
    expect(conf).toMatch(/^pid_filename \/tmp\/squid\/squid\.pid$/m);
    expect(conf).toMatch(/^cache deny all$/m);
    expect(conf).not.toMatch(/^cache_dir/m);
  });

  it("refuses a sandbox name that could break the config", () => {
    expect(() => squidConfigFor(policy, { sandboxName: "a b\nhttp_access allow all" })).toThrow(/sandboxName "a b/);
  });
});

describe("sandbox side", () => {
  it("sets the proxy variables in both spellings and keeps loopback and the credential proxy direct", () => {
    expect(proxyEnvironment("http://egress-proxy:3128", ["credential-proxy"])).toEqual({
      HTTP_PROXY: "http://egress-proxy:3128",
      HTTPS_PROXY: "http://egress-proxy:3128",
      NO_PROXY: "localhost,127.0.0.1,::1,credential-proxy",
      http_proxy: "http://egress-proxy:3128",
      https_proxy: "http://egress-proxy:3128",
      no_proxy: "localhost,127.0.0.1,::1,credential-proxy",
    });
  });

  it("prints the denied-log command, with DOCKER_HOST for a remote engine", () => {
    expect(deniedLogCommand("p-s-main-egress", engineClient())).toBe("docker logs p-s-main-egress 2>&1 | grep TCP_DENIED");
    expect(deniedLogCommand("p-s-main-egress", engineClient({ host: "ssh://me@box" }))).toBe(
      "DOCKER_HOST='ssh://me@box' docker logs p-s-main-egress 2>&1 | grep TCP_DENIED",
    );
  });
});

describe("proxy container", () => {
  const identity = { project: "agent-sandbox", stack: "dev" };
  const policy: EgressPolicy = { allow: [{ host: "api.anthropic.com", wildcard: false, port: 443 }], hostPorts: [8080] };
  const args = proxyContainerArgs(
    { identity, sandboxName: "main", policy, imageId: "sha256:abc", engine: engineClient() },
    { internal: "net-in", outbound: "net-out", outboundGateway: () => "10.0.0.1" },
  );

  it("runs non-root with no capabilities, no-new-privileges, a read-only root and a memory cap", () => {
    expect(args).toMatchObject({
      name: "agent-sandbox-dev-main-egress",
      user: "13:13",
      capabilities: { drops: ["ALL"] },
      securityOpts: ["no-new-privileges:true"],
      readOnly: true,
      memory: 128,
      memorySwap: 128,
      start: false,
    });
  });

  it("carries the generated policy in SQUID_CONF_B64", () => {
    const env = (args.envs as string[]).find((entry) => entry.startsWith("SQUID_CONF_B64="))!;
    expect(Buffer.from(env.slice("SQUID_CONF_B64=".length), "base64").toString()).toBe(squidConfigFor(policy, { sandboxName: "main" }));
  });

  it("sits on the outbound network and on the sandbox's internal one as egress-proxy", () => {
    expect(args.networksAdvanced).toEqual([{ name: "net-out" }, { name: "net-in", aliases: ["egress-proxy"] }]);
  });

  it("gets a name for the Docker host only when host ports are listed", () => {
    expect(args.hosts).toEqual([{ host: "host.docker.internal", ip: "host-gateway" }]);
    const closed = proxyContainerArgs(
      { identity, sandboxName: "main", policy: { ...policy, hostPorts: [] }, imageId: "x", engine: engineClient() },
      { internal: "a", outbound: "b", outboundGateway: () => "10.0.0.1" },
    );
    expect(closed.hosts).toEqual([]);
  });

  it("puts the allowlist sandbox on an internal network whose bridge has no host address", () => {
    expect(sandboxNetworkSettings("allowlist", DOCKER, "dev-main-net")).toEqual({
      driver: "bridge",
      internal: true,
      options: { "com.docker.network.bridge.inhibit_ipv4": "true" },
    });
    expect(sandboxNetworkSettings("open", DOCKER, "dev-main-net")).toEqual({ driver: "bridge", internal: false, options: {} });
  });

  it("names a Podman sandbox's internal bridge for the host's firewall chain, the same name for the same network", () => {
    const { options } = sandboxNetworkSettings("allowlist", PODMAN, "dev-main-net");
    const bridge = options["com.docker.network.bridge.name"];
    expect(bridge).toMatch(new RegExp(`^${PODMAN_ISOLATED_BRIDGE_PREFIX}[0-9a-f]{11}$`));
    // Linux takes at most 15 characters for an interface name.
    expect(bridge.length).toBeLessThanOrEqual(15);
    expect(sandboxNetworkSettings("allowlist", PODMAN, "dev-main-net").options).toEqual(options);
    expect(sandboxNetworkSettings("allowlist", PODMAN, "dev-other-net").options).not.toEqual(options);
    expect(sandboxNetworkSettings("open", PODMAN, "dev-main-net").options).toEqual({});
  });
});
