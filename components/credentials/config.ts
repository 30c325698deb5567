/**
 * The credential proxy's key of a sandbox's config: `sandboxes[i].apiUpstream`, as a zod schema with its
 * messages. (The repositories it forwards are the egress section's `gitRepos`.)
 */
import { z } from "zod";

const UPSTREAM_EXAMPLE = 'e.g. "https://llm-gateway.example.com" or "https://llm-gateway.example.com/v2"';

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
  if (url.username || url.password) return fail("carries credentials; the key is the stack's API key secret of the agent's API");
  if (url.search || url.hash) return fail("has a query or fragment; give the origin and at most a path prefix");
  if (!/^[A-Za-z0-9._~/-]*$/.test(url.pathname)) return fail("has characters in its path that are not letters, digits or . _ ~ / -");
});
