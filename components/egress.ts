/**
 * Egress policy of a sandbox: which names and ports its proxy lets through. Pure functions only (no Pulumi
 * resources): the zod schema the stack config embeds as `sandboxes[i].egress`, the parser of allowlist
 * entries, the default allowlist, the Squid configuration the proxy runs, and the proxy variables the
 * sandbox gets. The proxy container itself is declared in egress-proxy.ts.
 */
import { getDomain } from "tldts";
import { z } from "zod";
import { count, strictObject } from "./config-error";
import { humanDockerCommand } from "./shell";

/** A name no allowlist can hold (.invalid is reserved), so the proxy must refuse it without a lookup. */
export const DENIED_PROBE_URL = "http://egress-denied-probe.invalid/";
/** The variables agent-egress-selftest reads: the URLs that must answer, and be refused, through the proxy. */
export const PROBE_ALLOWED_ENV = "AGENT_EGRESS_PROBE_ALLOWED";
export const PROBE_DENIED_ENV = "AGENT_EGRESS_PROBE_DENIED";
/** Port the proxy listens on inside its container. */
export const PROXY_PORT = 3128;
/** The proxy's network alias on the sandbox's internal network: the host part of the sandbox's proxy URL. */
export const PROXY_HOSTNAME = "egress-proxy";
/** Bridge option that leaves the host without an address on the network (see sandboxNetworkSettings). */
export const INHIBIT_IPV4_OPTION = "com.docker.network.bridge.inhibit_ipv4";
/** Name the proxy resolves to the Docker host (ExtraHosts `host-gateway`); the only way to reach host ports. */
export const HOST_GATEWAY_NAME = "host.docker.internal";
/** Ports an entry without `:port` may use: HTTPS, and HTTP for plain package mirrors. */
export const DEFAULT_PORTS = [80, 443] as const;

/**
 * Destinations refused even when an allowed name resolves to them: IANA's "not globally reachable" IPv4
 * blocks (private, loopback, link-local with 169.254.169.254, shared, documentation, multicast, reserved)
 * and their IPv6 counterparts. 198.18.0.0/15 (benchmarking, RFC 2544) stays reachable: the live tests run
 * their stand-in "outside" servers there, and no Docker default address pool uses it.
 * (`::ffff:0:0/96` is deliberately absent: Squid stores IPv4 addresses in that form, so it would match all.)
 */
export const REFUSED_DESTINATIONS = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.168.0.0/16",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "240.0.0.0/4",
  "::1",
  "64:ff9b::/96",
  "100::/64",
  "2001:db8::/32",
  "fc00::/7",
  "fe80::/10",
  "ff00::/8",
] as const;

/** One allowlist entry: an exact name or `*.suffix`, and the port it may use. */
export interface AllowEntry {
  readonly host: string;
  /** True for `*.github.com`: any name under github.com (Squid's `.github.com`, which matches github.com too). */
  readonly wildcard: boolean;
  /** Absent: the entry's context decides (DEFAULT_PORTS for `allow`, 443 for git hosts). */
  readonly port?: number;
}

export type ParsedAllowEntry = { readonly ok: true; readonly entry: AllowEntry } | { readonly ok: false; readonly problem: string };

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const EXAMPLE = 'e.g. "api.github.com", "*.github.com" or "registry.example.com:8443"';

/**
 * Parses `name`, `name:port`, `*.name` or `*.name:port`. Every refusal says what is wrong and shows a right
 * value, written to read after the key path (`sandboxes[0].egress.allow[2]: …`).
 */
export function parseAllowEntry(text: string): ParsedAllowEntry {
  const shown = JSON.stringify(text);
  const fail = (problem: string): ParsedAllowEntry => ({ ok: false, problem: `${shown} ${problem}` });
  const value = text.trim().toLowerCase();
  if (value === "") return { ok: false, problem: `must not be empty; write a domain name, ${EXAMPLE}` };
  if (value.includes("://") || value.includes("/")) return fail(`is a URL; write only the host name (and port), ${EXAMPLE}`);
  if (value.startsWith("[") || (value.match(/:/g) ?? []).length > 1) return fail(`is an IP address; the allowlist takes domain names, ${EXAMPLE}`);

  const [host, portText] = value.split(":");
  const port = portText === undefined ? undefined : Number(portText);
  if (portText !== undefined && (!/^\d+$/.test(portText) || port! < 1 || port! > 65535)) {
    return fail(`has port "${portText}"; a port is a number from 1 to 65535, e.g. "api.github.com:443"`);
  }
  if (IPV4.test(host)) return fail(`is an IP address; the allowlist takes domain names, ${EXAMPLE}`);

  const wildcard = host.startsWith("*.");
  const name = wildcard ? host.slice(2) : host;
  if (name.includes("*")) return fail(`has a wildcard in the middle; only a leading "*." is allowed, e.g. "*.github.com"`);
  const labels = name.split(".");
  if (labels.length < 2) {
    return fail(wildcard ? `is too broad: a wildcard must sit under a registered domain, e.g. "*.github.com"` : `is not a fully qualified domain name, ${EXAMPLE}`);
  }
  if (name.length > 253 || !labels.every((label) => LABEL.test(label))) {
    return fail(`is not a valid domain name (letters, digits and dashes between dots), ${EXAMPLE}`);
  }
  // The Public Suffix List (private section included: github.io, herokuapp.com…) says where names stop
  // belonging to one owner; a wildcard there would let the agent reach anyone's host.
  if (wildcard && getDomain(name, { allowPrivateDomains: true }) === null) {
    return fail(`is too broad: ${name} is a public suffix, under which anyone can register names; put the wildcard under a registered domain, e.g. "*.example.${name}"`);
  }
  if (name === HOST_GATEWAY_NAME || name.endsWith(".docker.internal")) {
    return fail(`names the Docker host; list its ports under egress.hostPorts instead, e.g. hostPorts: [8080]`);
  }
  return { ok: true, entry: port === undefined ? { host: name, wildcard } : { host: name, wildcard, port } };
}

const allowEntrySchema = z.string({ error: `must be a domain name string, ${EXAMPLE}` }).transform((text, ctx) => {
  const parsed = parseAllowEntry(text);
  if (parsed.ok) return parsed.entry;
  ctx.addIssue({ code: "custom", message: parsed.problem });
  return z.NEVER;
});

const hostPortSchema = count(8080, 1, "a port of the Docker host", 65535);

/** `sandboxes[i].egress`: how the sandbox reaches the network. */
export const egressConfigSchema = strictObject({
  /** allowlist: only through the proxy, to allowed names; none: no network at all; open: an ordinary bridge (needs acknowledgeUnsafe: [open-egress]). */
  mode: z.enum(["allowlist", "open", "none"], { error: 'must be "allowlist", "open" or "none"' }).default("allowlist"),
  /** Names (and ports) allowed on top of the defaults, e.g. ["registry.example.com", "*.github.com:443"]. */
  allow: z.array(allowEntrySchema).default([]),
  /** Start from defaultAllowlist (the agent's API and sign-in, the git hosts); false allows only `allow`. */
  includeDefaults: z.boolean({ error: "must be true or false" }).default(true),
  /** Hosts of your git remotes (HTTPS); part of the defaults. */
  gitHosts: z.array(allowEntrySchema).prefault(["github.com"]),
  /** Ports of the Docker host the sandbox may reach, as http(s)://host.docker.internal:<port>. */
  hostPorts: z.array(hostPortSchema).default([]),
  /**
   * The sandbox's healthcheck proves the policy: `allowed` must answer through the proxy (default: the
   * agent's API when the defaults are on; unset skips that half) and `denied` must be refused.
   */
  healthProbe: strictObject({
    allowed: z.url({ error: 'must be a URL like "https://api.anthropic.com/"' }).optional(),
    denied: z.url({ error: 'must be a URL like "http://egress-denied-probe.invalid/"' }).default(DENIED_PROBE_URL),
  }).prefault({}),
})
  .superRefine((egress, ctx) => {
    if (egress.mode === "allowlist") return;
    for (const key of ["allow", "hostPorts"] as const) {
      if (egress[key].length > 0) {
        ctx.addIssue({ code: "custom", path: [key], message: `has no effect when egress.mode is "${egress.mode}"; remove it or use mode "allowlist"` });
      }
    }
  })
  .prefault({});

export type EgressConfig = z.infer<typeof egressConfigSchema>;

/** The agents' API endpoint their sandbox's healthcheck probes by default (any HTTP answer counts). */
const AGENT_API_PROBES: Record<string, string> = { claude: "https://api.anthropic.com/" };

/**
 * Environment for the agent image's egress self-test (run by its healthcheck when a proxy is set): the
 * URL that must answer through the proxy, and the one the proxy must refuse.
 */
export function healthProbeEnvironment(egress: EgressConfig, agent: string): Record<string, string> {
  const allowed = egress.healthProbe.allowed ?? (egress.includeDefaults ? AGENT_API_PROBES[agent] : undefined);
  return { ...(allowed ? { [PROBE_ALLOWED_ENV]: allowed } : {}), [PROBE_DENIED_ENV]: egress.healthProbe.denied };
}

/** What the proxy enforces: the effective allowlist and the host ports. */
export interface EgressPolicy {
  readonly allow: readonly AllowEntry[];
  readonly hostPorts: readonly number[];
}

/** The endpoints each agent needs to work: its API, and sign-in/token refresh for subscription logins. */
const AGENT_ENDPOINTS: Record<string, readonly string[]> = {
  claude: ["api.anthropic.com:443", "claude.ai:443", "console.anthropic.com:443", "platform.claude.com:443"],
};

function mustParse(text: string): AllowEntry {
  const parsed = parseAllowEntry(text);
  if (!parsed.ok) throw new Error(`built-in allowlist entry: ${parsed.problem}`);
  return parsed.entry;
}

/**
 * The allowlist a sandbox starts from: what the agent itself needs, plus the git hosts over HTTPS.
 * Package registries are not in it: which registry (public or a company mirror) is yours is for the stack
 * to say in `egress.allow`.
 */
export function defaultAllowlist(agent: string, gitHosts: readonly AllowEntry[]): AllowEntry[] {
  const endpoints = AGENT_ENDPOINTS[agent];
  if (!endpoints) throw new Error(`no default allowlist for agent "${agent}"; known agents: ${Object.keys(AGENT_ENDPOINTS).join(", ")}`);
  const git = gitHosts.map((entry) => ({ ...entry, port: entry.port ?? 443 }));
  return [...endpoints.map(mustParse), ...git];
}

/** The effective policy of an allowlist-mode sandbox. */
export function egressPolicyFor(egress: EgressConfig, agent: string): EgressPolicy {
  const defaults = egress.includeDefaults ? defaultAllowlist(agent, egress.gitHosts) : [];
  return { allow: [...defaults, ...egress.allow], hostPorts: [...new Set(egress.hostPorts)].sort((a, b) => a - b) };
}

const squidDomain = (entry: AllowEntry) => (entry.wildcard ? `.${entry.host}` : entry.host);

/** Entries grouped by their port set, each name once; an exact name under an allowed wildcard is dropped (Squid rejects the overlap). */
function domainsByPorts(allow: readonly AllowEntry[]): Map<string, Set<string>> {
  const groups = new Map<string, Set<string>>();
  for (const entry of allow) {
    for (const port of entry.port === undefined ? DEFAULT_PORTS : [entry.port]) {
      const key = String(port);
      if (!groups.has(key)) groups.set(key, new Set());
      groups.get(key)!.add(squidDomain(entry));
    }
  }
  for (const domains of groups.values()) {
    for (const domain of domains) {
      const covered = [...domains].some((other) => other.startsWith(".") && other !== domain && (domain.endsWith(other) || `.${domain}` === other));
      if (covered) domains.delete(domain);
    }
  }
  return new Map([...groups].sort(([a], [b]) => Number(a) - Number(b)));
}

export interface SquidOptions {
  /** Written into every access-log line, so a shared log collector can tell sandboxes apart. */
  readonly sandboxName: string;
  readonly listenPort?: number;
}

/** Name the proxy healthcheck asks for; the policy answers it with a redirect no stock Squid gives. */
export const HEALTHCHECK_NAME = "egress-healthcheck.invalid";

/**
 * squid.conf for one sandbox. Order matters: names are matched first (no DNS lookup for a refused name),
 * then the resolved address is checked against REFUSED_DESTINATIONS, so an allowed name pointing at
 * 169.254.169.254 or the LAN is still refused. `*.x` becomes Squid's `.x`, which also matches `x` itself.
 */
export function squidConfigFor(policy: EgressPolicy, options: SquidOptions): string {
  if (!/^[A-Za-z0-9._-]+$/.test(options.sandboxName)) throw new Error(`sandboxName "${options.sandboxName}" must be letters, digits, dots, dashes or underscores`);
  const lines = [
    `# Generated by agent-sandbox for sandbox ${options.sandboxName}; edit the stack config, not this file.`,
    `http_port ${options.listenPort ?? PROXY_PORT}`,
    "pid_filename /tmp/squid/squid.pid",
    "coredump_dir /tmp/squid",
    "netdb_filename none",
    "pinger_enable off",
    "cache deny all",
    "cache_mem 0 MB",
    "max_filedescriptors 4096",
    "shutdown_lifetime 1 seconds",
    "via off",
    "forwarded_for delete",
    "httpd_suppress_version_string on",
    // Squid names itself in error pages and X-Cache headers; the container ID would be its default.
    `visible_hostname ${PROXY_HOSTNAME}`,
    `logformat egress %{%Y-%m-%dT%H:%M:%S%z}tl sandbox=${options.sandboxName} client=%>a %Ss/%>Hs %rm %ru bytes=%<st`,
    `acl egress_healthcheck dstdomain -n ${HEALTHCHECK_NAME}`,
    "access_log stdio:/dev/stdout logformat=egress !egress_healthcheck",
    "cache_log /dev/stderr",
    "logfile_rotate 0",
    `deny_info 307:http://${HEALTHCHECK_NAME}/policy-loaded egress_healthcheck`,
    "http_access deny egress_healthcheck",
    `acl refused_destinations dst ${REFUSED_DESTINATIONS.join(" ")}`,
  ];
  if (policy.hostPorts.length > 0) {
    // The explicit exception to the refused ranges: the host gateway, on the listed ports only.
    lines.push(
      `acl host_gateway dstdomain -n ${HOST_GATEWAY_NAME}`,
      `acl host_ports port ${policy.hostPorts.join(" ")}`,
      "http_access allow host_gateway host_ports",
    );
  }
  for (const [port, domains] of domainsByPorts(policy.allow)) {
    lines.push(
      `acl allowed_${port} dstdomain -n ${[...domains].sort().join(" ")}`,
      `acl port_${port} port ${port}`,
      `http_access allow allowed_${port} port_${port} !refused_destinations`,
    );
  }
  lines.push("http_access deny all", "");
  return lines.join("\n");
}

/** The URL a sandbox on the allowlist uses as its proxy: the proxy's alias on the sandbox's internal network. */
export const PROXY_URL = `http://${PROXY_HOSTNAME}:${PROXY_PORT}`;

/** Proxy variables in both spellings (curl reads lowercase http_proxy only; npm and git read either). */
export function proxyEnvironment(proxyUrl: string): Record<string, string> {
  const noProxy = "localhost,127.0.0.1,::1";
  return {
    HTTP_PROXY: proxyUrl,
    HTTPS_PROXY: proxyUrl,
    NO_PROXY: noProxy,
    http_proxy: proxyUrl,
    https_proxy: proxyUrl,
    no_proxy: noProxy,
  };
}

/**
 * The sandbox's own network by egress mode (`none` has no network: the container runs with network mode
 * "none"). For `allowlist` it is internal (no route out, Docker's DNS answers only names on it) and the
 * host gets no address on its bridge: on an internal network the host still answers at the gateway
 * address (every host service bound to 0.0.0.0), which inhibit_ipv4 removes.
 */
export function sandboxNetworkSettings(mode: "allowlist" | "open"): { internal: boolean; options: Record<string, string> } {
  return mode === "allowlist" ? { internal: true, options: { [INHIBIT_IPV4_OPTION]: "true" } } : { internal: false, options: {} };
}

/** The command that prints the requests a sandbox's proxy refused (DOCKER_HOST spelled out for a remote engine). */
export function deniedLogCommand(proxyContainer: string, dockerEnv: Record<string, string> = {}): string {
  return `${humanDockerCommand(dockerEnv, ["logs", proxyContainer])} 2>&1 | grep TCP_DENIED`;
}
