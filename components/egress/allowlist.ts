/**
 * Allowlist entries of a sandbox's egress: the parser of `name`, `name:port` and `*.name` entries, the
 * policy a proxy enforces, and the default allowlist (the agent's endpoints and the git hosts).
 */
import { getDomain } from "tldts";
import { AgentAuth, type AgentProfile } from "../agents";
import { HOST_DOMAIN, HOST_GATEWAY_NAME } from "../engine/host-gateway";
import { hasValidLabels, IPV4 } from "../values/hostnames";

/** Ports an entry without `:port` may use: HTTPS, and HTTP for plain package mirrors. */
export const DEFAULT_PORTS = [80, 443] as const;

/** One allowlist entry: an exact name or `*.suffix`, and the port it may use. */
export interface AllowEntry {
  readonly host: string;
  /** True for `*.github.com`: any name under github.com (Squid's `.github.com`, which matches github.com too). */
  readonly wildcard: boolean;
  /** Absent: the entry's context decides (DEFAULT_PORTS for `allow`, 443 for git hosts). */
  readonly port?: number;
}

export type ParsedAllowEntry = { readonly ok: true; readonly entry: AllowEntry } | { readonly ok: false; readonly problem: string };

export const ALLOW_ENTRY_EXAMPLE = 'e.g. "api.github.com", "*.github.com" or "registry.example.com:8443"';

/**
 * Parses `name`, `name:port`, `*.name` or `*.name:port`. Every refusal says what is wrong and shows a right
 * value, written to read after the key path (`sandboxes[0].egress.allow[2]: …`).
 */
export function parseAllowEntry(text: string): ParsedAllowEntry {
  const shown = JSON.stringify(text);
  const fail = (problem: string): ParsedAllowEntry => ({ ok: false, problem: `${shown} ${problem}` });
  const value = text.trim().toLowerCase();
  if (value === "") return { ok: false, problem: `must not be empty; write a domain name, ${ALLOW_ENTRY_EXAMPLE}` };
  if (value.includes("://") || value.includes("/")) return fail(`is a URL; write only the host name (and port), ${ALLOW_ENTRY_EXAMPLE}`);
  if (value.startsWith("[") || (value.match(/:/g) ?? []).length > 1) return fail(`is an IP address; the allowlist takes domain names, ${ALLOW_ENTRY_EXAMPLE}`);

  const [host, portText] = value.split(":");
  const port = portText === undefined ? undefined : Number(portText);
  if (portText !== undefined && (!/^\d+$/.test(portText) || port! < 1 || port! > 65535)) {
    return fail(`has port "${portText}"; a port is a number from 1 to 65535, e.g. "api.github.com:443"`);
  }
  if (IPV4.test(host)) return fail(`is an IP address; the allowlist takes domain names, ${ALLOW_ENTRY_EXAMPLE}`);

  const wildcard = host.startsWith("*.");
  const name = wildcard ? host.slice(2) : host;
  if (name.includes("*")) return fail(`has a wildcard in the middle; only a leading "*." is allowed, e.g. "*.github.com"`);
  const labels = name.split(".");
  if (labels.length < 2) {
    return fail(
      wildcard
        ? `is too broad: a wildcard must sit under a registered domain, e.g. "*.github.com"`
        : `is not a fully qualified domain name, ${ALLOW_ENTRY_EXAMPLE}`,
    );
  }
  if (name.length > 253 || !hasValidLabels(name)) {
    return fail(`is not a valid domain name (letters, digits and dashes between dots), ${ALLOW_ENTRY_EXAMPLE}`);
  }
  // The Public Suffix List (private section included: github.io, herokuapp.com…) says where names stop
  // belonging to one owner; a wildcard there would let the agent reach anyone's host.
  if (wildcard && getDomain(name, { allowPrivateDomains: true }) === null) {
    return fail(
      `is too broad: ${name} is a public suffix, under which anyone can register names; put the wildcard under a registered domain, e.g. "*.example.${name}"`,
    );
  }
  if (name === HOST_GATEWAY_NAME || name.endsWith(`.${HOST_DOMAIN}`)) {
    return fail(`names the Docker host; list its ports under egress.hostPorts instead, e.g. hostPorts: [8080]`);
  }
  return { ok: true, entry: port === undefined ? { host: name, wildcard } : { host: name, wildcard, port } };
}

/** What the proxy enforces: the effective allowlist and the host ports. */
export interface EgressPolicy {
  readonly allow: readonly AllowEntry[];
  readonly hostPorts: readonly number[];
}

function mustParse(text: string): AllowEntry {
  const parsed = parseAllowEntry(text);
  if (!parsed.ok) throw new Error(`built-in allowlist entry: ${parsed.problem}`);
  return parsed.entry;
}

/**
 * The allowlist a sandbox starts from: what the agent itself needs, plus the git hosts over HTTPS.
 * Under `auth: proxy` the agent needs nothing: its API is the credential proxy's to reach, and a
 * subscription's sign-in is refused. Package registries are not in it: which registry (public or a
 * company mirror) is yours is for the stack to say in `egress.allow`.
 */
export function defaultAllowlist(agent: AgentProfile, auth: AgentAuth, gitHosts: readonly AllowEntry[]): AllowEntry[] {
  const git = gitHosts.map((entry) => ({ ...entry, port: entry.port ?? 443 }));
  const own = auth === AgentAuth.Subscription ? [agent.provider.endpoint, ...agent.signInEndpoints] : [];
  return [...own.map(mustParse), ...git];
}
