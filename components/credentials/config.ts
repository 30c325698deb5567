/**
 * The stack config of the credential proxy: `sandboxes[i].apiUpstream` and `sandboxes[i].egress.gitRepos`
 * entries, as zod schemas with their messages.
 */
import { z } from "zod";
import { GIT_REPO_EXAMPLE, parseGitRepo } from "./git-repos";

export const gitRepoSchema = z.string({ error: `must be a repository string, ${GIT_REPO_EXAMPLE}` }).transform((text, ctx) => {
  const parsed = parseGitRepo(text);
  if (parsed.ok) return parsed.repo;
  ctx.addIssue({ code: "custom", message: parsed.problem });
  return z.NEVER;
});

const UPSTREAM_EXAMPLE = 'e.g. "https://llm-gateway.example.com" or "https://llm-gateway.example.com/anthropic"';

/** Where the credential proxy sends the agent's API requests: HTTPS only, since the key travels there. */
export const apiUpstreamSchema = z.string({ error: `must be an https URL, ${UPSTREAM_EXAMPLE}` }).superRefine((text, ctx) => {
  const fail = (problem: string) => ctx.addIssue({ code: "custom", message: `${JSON.stringify(text)} ${problem}, ${UPSTREAM_EXAMPLE}` });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail("is not a URL");
  }
  if (url.protocol !== "https:") return fail("is not https; the stack's API key would travel in clear text");
  if (url.username || url.password) return fail("carries credentials; the key is the stack's anthropicApiKey secret");
  if (url.search || url.hash) return fail("has a query or fragment; give the origin and at most a path prefix");
  if (!/^[A-Za-z0-9._~/-]*$/.test(url.pathname)) return fail("has characters in its path that are not letters, digits or . _ ~ / -");
});
