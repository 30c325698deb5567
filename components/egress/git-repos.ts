/**
 * `egress.gitRepos` entries: the repositories a sandbox may fetch and push through its credential proxy,
 * written as `host[:port]/path/to/repo`, and how they read in messages and in the proxy's paths.
 */
import { HOST_GATEWAY_NAME } from "../engine/host-gateway";
import { IPV4, isDomainName } from "../values/hostnames";

/** One repository the credential proxy forwards (fetch and push), with the stack's git token added. */
export interface GitRepo {
  readonly host: string;
  readonly port: number;
  /** `org/repo` (GitLab's groups give more segments), without `.git`. */
  readonly path: string;
}

export type ParsedGitRepo = { readonly ok: true; readonly repo: GitRepo } | { readonly ok: false; readonly problem: string };

export const GIT_REPO_EXAMPLE = 'e.g. "github.com/my-org/my-repo" or "git.example.com:8443/group/repo"';
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Parses `host[:port]/path`; every refusal shows a right value, written to read after the key path. */
export function parseGitRepo(text: string): ParsedGitRepo {
  const shown = JSON.stringify(text);
  const fail = (problem: string): ParsedGitRepo => ({ ok: false, problem: `${shown} ${problem}, ${GIT_REPO_EXAMPLE}` });
  const value = text.trim();
  if (/^[a-z]+:\/\//i.test(value) || value.startsWith("git@")) return fail("is a URL; write the host and the repository path without a scheme");
  const [authority, ...segments] = value
    .replace(/\/+$/, "")
    .replace(/\.git$/, "")
    .split("/");
  const [hostText, portText, ...extra] = authority.toLowerCase().split(":");
  const port = portText === undefined ? 443 : Number(portText);
  if (extra.length > 0 || (portText !== undefined && (!/^\d+$/.test(portText) || port < 1 || port > 65535))) {
    return fail("has a bad port; a port is a number from 1 to 65535");
  }
  if (IPV4.test(hostText) || hostText.startsWith("[")) return fail("names an IP address; write the git host's domain name");
  if (hostText !== HOST_GATEWAY_NAME && !isDomainName(hostText)) return fail("does not start with a domain name");
  if (segments.length < 1 || segments.some((segment) => !SEGMENT.test(segment) || segment.endsWith(".lock"))) {
    return fail("needs the repository's path after the host (letters, digits, dots, dashes, underscores between slashes)");
  }
  return { ok: true, repo: { host: hostText, port, path: segments.join("/") } };
}

/** `host[:port]`, the port left out when it is HTTPS's own. */
export function gitRepoAuthority(repo: GitRepo): string {
  return repo.port === 443 ? repo.host : `${repo.host}:${repo.port}`;
}

/** How a listed repository reads in messages and in the proxy's paths: `github.com/org/repo`. */
export function gitRepoName(repo: GitRepo): string {
  return `${gitRepoAuthority(repo)}/${repo.path}`;
}
