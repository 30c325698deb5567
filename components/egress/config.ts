/**
 * The egress section of a sandbox's config (`sandboxes[i].egress`): its zod schema, its defaults and
 * rules, and what follows from it: the policy the proxy enforces and the probes the sandbox's healthcheck
 * runs through it.
 */
import { z } from "zod";
import { type Agent, AgentAuth, agentProfile } from "../agents";
import { count, strictObject } from "../values/schema";
import { ALLOW_ENTRY_EXAMPLE, type AllowEntry, defaultAllowlist, type EgressPolicy, parseAllowEntry } from "./allowlist";
import { GIT_REPO_EXAMPLE, parseGitRepo } from "./git-repos";
import { DENIED_PROBE_URL, PROBE_ALLOWED_ENV, PROBE_DENIED_ENV } from "./network";

/** How a sandbox reaches the network. */
export const EgressMode = {
  /** Only through the egress proxy, to allowed names. */
  Allowlist: "allowlist",
  /** An ordinary bridge; needs acknowledgeUnsafe: ["open-egress"]. */
  Open: "open",
  /** No network at all. */
  None: "none",
} as const;
export type EgressMode = (typeof EgressMode)[keyof typeof EgressMode];

/** One repository as `host[:port]/path` (git-repos.ts), parsed. */
export const gitRepoSchema = z.string({ error: `must be a repository string, ${GIT_REPO_EXAMPLE}` }).transform((text, ctx) => {
  const parsed = parseGitRepo(text);
  if (parsed.ok) return parsed.repo;
  ctx.addIssue({ code: "custom", message: parsed.problem });
  return z.NEVER;
});

const allowEntrySchema = z.string({ error: `must be a domain name string, ${ALLOW_ENTRY_EXAMPLE}` }).transform((text, ctx) => {
  const parsed = parseAllowEntry(text);
  if (parsed.ok) return parsed.entry;
  ctx.addIssue({ code: "custom", message: parsed.problem });
  return z.NEVER;
});

const hostPortSchema = count(8080, 1, "a port of the Docker host", 65535);

/** `sandboxes[i].egress`: how the sandbox reaches the network. */
export const egressConfigSchema = strictObject({
  mode: z.enum(EgressMode, { error: 'must be "allowlist", "open" or "none"' }).default(EgressMode.Allowlist),
  allow: z.array(allowEntrySchema).default([]),
  includeDefaults: z.boolean({ error: "must be true or false" }).default(true),
  // Unset: github.com, unless gitRepos is set (then no git host is reachable by CONNECT at all).
  gitHosts: z.array(allowEntrySchema).optional(),
  gitRepos: z.array(gitRepoSchema).default([]),
  hostPorts: z.array(hostPortSchema).default([]),
  healthProbe: strictObject({
    allowed: z.url({ error: 'must be a URL like "https://api.example.com/"' }).optional(),
    denied: z.url({ error: 'must be a URL like "http://egress-denied-probe.invalid/"' }).default(DENIED_PROBE_URL),
  }).prefault({}),
})
  .superRefine((egress, ctx) => {
    if (egress.gitRepos.length > 0 && egress.gitHosts !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["gitHosts"],
        message: "with gitRepos set, git reaches only those repositories through the credential proxy; remove gitHosts (the weaker CONNECT to whole hosts)",
      });
    }
    if (egress.mode === "none" && egress.gitRepos.length > 0) {
      ctx.addIssue({ code: "custom", path: ["gitRepos"], message: 'has no effect when egress.mode is "none" (no network); remove it or use mode "allowlist"' });
    }
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
export function healthProbeEnvironment(egress: EgressConfig, agent: Agent, auth: AgentAuth): Record<string, string> {
  // Under auth proxy the API is not on the allowlist: the credential proxy, not CONNECT, reaches it.
  const apiReachable = egress.includeDefaults && auth === AgentAuth.Subscription;
  const allowed = egress.healthProbe.allowed ?? (apiReachable ? agentProfile(agent).provider.probeUrl : undefined);
  return { ...(allowed ? { [PROBE_ALLOWED_ENV]: allowed } : {}), [PROBE_DENIED_ENV]: egress.healthProbe.denied };
}

/**
 * The git hosts reached by CONNECT: none once gitRepos lists repositories (the credential proxy reaches
 * those), nor without the defaults (they are part of them). Open egress reaches every host anyway.
 */
export function connectGitHosts(egress: EgressConfig): AllowEntry[] {
  if (egress.gitRepos.length > 0 || (!egress.includeDefaults && egress.mode !== "open")) return [];
  return egress.gitHosts ?? [{ host: "github.com", wildcard: false }];
}

/** The effective policy of an allowlist-mode sandbox. */
export function egressPolicyFor(egress: EgressConfig, agent: Agent, auth: AgentAuth): EgressPolicy {
  const defaults = egress.includeDefaults ? defaultAllowlist(agentProfile(agent), auth, connectGitHosts(egress)) : [];
  return { allow: [...defaults, ...egress.allow], hostPorts: [...new Set(egress.hostPorts)].sort((a, b) => a - b) };
}
