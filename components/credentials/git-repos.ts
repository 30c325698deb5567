/**
 * `egress.gitRepos` entries: the repositories a sandbox may fetch and push through its credential proxy,
 * written as `host[:port]/path/to/repo`. The parser, and the one rewrite that sends git over HTTPS to the
 * proxy from inside the sandbox.
 */
import { IPV4, isDomainName } from "../egress/allowlist";
import { HOST_GATEWAY_NAME } from "../egress/network";

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

/**
 * Git configuration through the environment (git 2.31+ reads GIT_CONFIG_COUNT/KEY_n/VALUE_n): every
 * `https://` remote goes to the credential proxy's git port as `http://<proxy>/<host>/<path>`, so a listed
 * repository is fetched and pushed there and any other is refused there with the name of the key to change.
 * Prompts are off: the token is the proxy's, and no answer typed inside the sandbox could replace it.
 */
export function gitThroughProxyEnvironment(proxyGitUrl: string): Record<string, string> {
  return {
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: `url.${proxyGitUrl}/.insteadOf`,
    GIT_CONFIG_VALUE_0: "https://",
    GIT_TERMINAL_PROMPT: "0",
  };
}
