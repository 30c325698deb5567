/**
 * The stand-in git server the credential-proxy suite uses, proven from the host with the real git client
 * over https (trusting the test CA only): clone and push with the token, both URL forms, a 401 challenge
 * before the credentials and a refusal of a wrong token. Needs git, not the engine.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { basicAuthorization, type GitServer, gitAvailability, startGitServer } from "../../testkit/live/git-server";
import { testCa } from "../../testkit/live/test-ca";

const run = promisify(execFile);
const TOKEN = `ghs_test_${process.pid}_${Math.random().toString(36).slice(2)}`;

const availability = gitAvailability();
let server: GitServer | undefined;
let scratch = "";

/** git on the host, trusting only the test CA, never prompting, with no user or system config. */
async function git(args: string[], cwd = scratch, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; output: string }> {
  const env = {
    PATH: process.env.PATH,
    HOME: scratch,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_TERMINAL_PROMPT: "0",
    GIT_SSL_CAINFO: testCa().caCertFile,
    GIT_AUTHOR_NAME: "test",
    GIT_AUTHOR_EMAIL: "test@example.invalid",
    GIT_COMMITTER_NAME: "test",
    GIT_COMMITTER_EMAIL: "test@example.invalid",
    ...extraEnv,
  };
  try {
    const { stdout, stderr } = await run("git", args, { cwd, env, timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as Error & { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : -1, output: `${failed.stdout ?? ""}${failed.stderr ?? failed.message}` };
  }
}

const withToken = (url: string, token = TOKEN) => url.replace("https://", `https://x-access-token:${token}@`);

function requireGit(context: TestContext): GitServer {
  if (!availability.available) context.skip(availability.reason);
  return server!;
}

describe("the stand-in git server over TLS (live, host git)", () => {
  beforeAll(async () => {
    if (!availability.available) {
      console.warn(`[live] skipped: ${availability.reason}`);
      return;
    }
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-git-client-"));
    server = await startGitServer({ tls: testCa().tls, token: TOKEN, repos: ["org/allowed", "org/other"] });
  });
  afterAll(async () => {
    await server?.close();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("clones with the token after a 401 challenge, and takes a push to main", async (context) => {
    const git_ = requireGit(context);
    const cloned = await git(["clone", withToken(`${git_.url}/org/allowed.git`), "allowed"]);
    expect(cloned.code, cloned.output).toBe(0);
    expect(fs.readFileSync(path.join(scratch, "allowed/README.md"), "utf8")).toBe("# org/allowed\n");
    const first = git_.requests[0];
    expect(first, JSON.stringify(git_.requests)).toMatchObject({ authorized: false, status: 401, authorization: undefined });
    expect(git_.requests.filter((request) => request.authorized).length).toBeGreaterThan(0);
    expect(git_.requests.filter((request) => request.authorized).every((request) => request.authorization === basicAuthorization(TOKEN))).toBe(true);

    const work = path.join(scratch, "allowed");
    fs.writeFileSync(path.join(work, "change.txt"), "a change\n");
    expect((await git(["add", "change.txt"], work)).code).toBe(0);
    expect((await git(["commit", "-q", "-m", "a pushed change"], work)).code).toBe(0);
    const pushed = await git(["push", "origin", "main"], work);
    expect(pushed.code, pushed.output).toBe(0);
    expect(git_.log("org/allowed")).toEqual(["a pushed change", "initial commit"]);
    expect(git_.requests.some((request) => request.method === "POST" && request.path.endsWith("/git-receive-pack") && request.status === 200)).toBe(true);
  });

  it("serves the path without .git too, and only the repositories it made", async (context) => {
    const git_ = requireGit(context);
    const cloned = await git(["clone", withToken(`${git_.url}/org/other`), "other"]);
    expect(cloned.code, cloned.output).toBe(0);
    expect(git_.log("org/other")).toEqual(["initial commit"]);
    expect(fs.existsSync(path.join(git_.bareRepoPath("org/other"), "HEAD"))).toBe(true);

    const missing = await git(["clone", withToken(`${git_.url}/org/missing`), "missing"]);
    expect(missing.code).not.toBe(0);
    expect(missing.output).toMatch(/not found|404/);
  });

  it("refuses a wrong token, and records it as unauthorized", async (context) => {
    const git_ = requireGit(context);
    const before = git_.requests.length;
    const refused = await git(["clone", withToken(`${git_.url}/org/allowed`, "wrong-token"), "refused"]);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/Authentication failed/);
    const tried = git_.requests.slice(before);
    expect(tried.length).toBeGreaterThan(0);
    expect(tried.every((request) => !request.authorized && request.status === 401)).toBe(true);
    expect(tried.some((request) => request.authorization === basicAuthorization("wrong-token"))).toBe(true);
  });

  it("is https only with a certificate the test CA vouches for", async (context) => {
    const git_ = requireGit(context);
    const untrusted = await git(["ls-remote", withToken(`${git_.url}/org/allowed`)], scratch, { GIT_SSL_CAINFO: "/etc/ssl/certs/ca-certificates.crt" });
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.output).toMatch(/certificate|SSL/i);
  });
});
