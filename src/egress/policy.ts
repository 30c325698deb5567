/**
 * `sandboxes[i].egress`: the zod schema of the egress config, and what follows from it: the policy the
 * proxy enforces and the probes the sandbox's healthcheck runs through it.
 */
import { z } from "zod";
import { agentProfile, type Agent } from "../agents";
import { EgressMode } from "../config/choices";
import { count, strictObject } from "../config/errors";
import { ALLOW_ENTRY_EXAMPLE, defaultAllowlist, parseAllowEntry, type EgressPolicy } from "./allowlist";
import { DENIED_PROBE_URL, PROBE_ALLOWED_ENV, PROBE_DENIED_ENV } from "./network";

const allowEntrySchema = z.string({ error: `must be a domain name string, ${ALLOW_ENTRY_EXAMPLE}` }).transform((text, ctx) => {
  const parsed = parseAllowEntry(text);
  if (parsed.ok) return parsed.entry;
  ctx.addIssue({ code: "custom", message: parsed.problem });
  return z.NEVER;
});

const hostPortSchema = count(8080, 1, "a port of the Docker host", 65535);

/** `sandboxes[i].egress`: how the sandbox reaches the network. */
export const egressConfigSchema = strictObject({
  /** allowlist: only through the proxy, to allowed names; none: no network at all; open: an ordinary bridge (needs acknowledgeUnsafe: [open-egress]). */
  mode: z.enum(EgressMode, { error: 'must be "allowlist", "open" or "none"' }).default(EgressMode.Allowlist),
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

/**
 * Environment for the agent image's egress self-test (run by its healthcheck when a proxy is set): the
 * URL that must answer through the proxy, and the one the proxy must refuse.
 */
export function healthProbeEnvironment(egress: EgressConfig, agent: Agent): Record<string, string> {
  const allowed = egress.healthProbe.allowed ?? (egress.includeDefaults ? agentProfile(agent).apiProbeUrl : undefined);
  return { ...(allowed ? { [PROBE_ALLOWED_ENV]: allowed } : {}), [PROBE_DENIED_ENV]: egress.healthProbe.denied };
}

/** The effective policy of an allowlist-mode sandbox. */
export function egressPolicyFor(egress: EgressConfig, agent: Agent): EgressPolicy {
  const defaults = egress.includeDefaults ? defaultAllowlist(agentProfile(agent), egress.gitHosts) : [];
  return { allow: [...defaults, ...egress.allow], hostPorts: [...new Set(egress.hostPorts)].sort((a, b) => a - b) };
}
