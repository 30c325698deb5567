/**
 * A stand-in git hosting service over TLS, like GitHub's smart HTTP: Debian's `git http-backend` (CGI)
 * behind a Node https server, for bare repositories it makes, each with one commit on main. It wants the
 * token the way GitHub takes an installation token, `Authorization: Basic base64("x-access-token:" + token)`,
 * answers 401 with a Basic challenge otherwise, and records every request, so a test can prove the
 * credential proxy (issue #14) added the token and the sandbox never had it.
 *
 * The server lives in the test process: run the git client that talks to it asynchronously (execFile,
 * execIn), never with spawnSync/execFileSync, which would block the server and hang both.
 *
 * How git shows a refusal (git 2.39, observed against this server and a stand-in proxy): an `ERR <text>`
 * pkt-line answering info/refs, with content type `application/x-<service>-advertisement` of the service
 * asked for (git-upload-pack for clone and fetch, git-receive-pack for push), makes git print
 * `fatal: remote error: <text>` and exit 128, as the first pkt-line or after the `# service=` line; any
 * other content type gives `fatal: <url>/info/refs not valid: is this a git repository?`. A 403 with a
 * text/plain body prints the body as `remote: <text>` before `fatal: unable to access '<url>': The
 * requested URL returned error: 403`; with text/html the body is not shown.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import type http from "node:http";
import https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { listenOn } from "./listen";

export const GIT_HTTP_BACKEND = "/usr/lib/git-core/git-http-backend";
/** The user name GitHub expects with an installation token. */
export const TOKEN_USER = "x-access-token";

/** Whether git and its http-backend are here; the reason when not. */
export function gitAvailability(): { available: true } | { available: false; reason: string } {
  if (spawnSync("git", ["--version"]).status !== 0) return { available: false, reason: "no git on PATH (apt-get install git)" };
  if (!fs.existsSync(GIT_HTTP_BACKEND)) return { available: false, reason: `no ${GIT_HTTP_BACKEND} (Debian's git package has it)` };
  return { available: true };
}

/** The Authorization header value the server accepts for `token`. */
export const basicAuthorization = (token: string): string => `Basic ${Buffer.from(`${TOKEN_USER}:${token}`).toString("base64")}`;

export interface GitServerOptions {
  /** Address to bind: 127.0.0.1 (default) for host runs, 0.0.0.0 for the credential proxy on a Docker network. */
  readonly host?: string;
  /** Port to bind; 0 (the default) picks a free one. */
  readonly port?: number;
  readonly tls: { readonly key: string; readonly cert: string };
  readonly token: string;
  /** Repositories to make, as "org/repo"; served at /org/repo.git/… and /org/repo/…. */
  readonly repos: readonly string[];
}

export interface GitRequest {
  readonly method: string;
  /** Path including the query string, e.g. `/org/repo.git/info/refs?service=git-upload-pack`. */
  readonly path: string;
  readonly authorization: string | undefined;
  /** Whether the authorization was the expected token. */
  readonly authorized: boolean;
  /** The HTTP status answered (0 while the answer is under way). */
  status: number;
}

export interface GitServer {
  /** https://<bound host>:<port> (0.0.0.0 is reported as 127.0.0.1). */
  readonly url: string;
  readonly port: number;
  /** Every request received, in arrival order. */
  readonly requests: GitRequest[];
  /** Folder of a repository's bare repository ("org/repo" → …/org/repo.git). */
  bareRepoPath(name: string): string;
  /** Subjects of the commits on main, newest first. */
  log(name: string): string[];
  close(): Promise<void>;
}

const COMMITTER = {
  GIT_AUTHOR_NAME: "git-server stand-in",
  GIT_AUTHOR_EMAIL: "git-server@example.invalid",
  GIT_COMMITTER_NAME: "git-server stand-in",
  GIT_COMMITTER_EMAIL: "git-server@example.invalid",
};

export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  for (const name of options.repos) {
    if (!/^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/.test(name) || name.endsWith(".git")) throw new Error(`repository names are "org/repo": ${name}`);
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-git-server-"));
  const bareRepoPath = (name: string) => {
    if (!options.repos.includes(name)) throw new Error(`the git server has no repository ${name} (it has ${options.repos.join(", ")})`);
    return path.join(root, `${name}.git`);
  };
  for (const name of options.repos) createRepository(bareRepoPath(name), name);

  const expected = basicAuthorization(options.token);
  const requests: GitRequest[] = [];
  const server = https.createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
    const url = req.url ?? "/";
    const authorization = req.headers.authorization;
    const record: GitRequest = { method: req.method ?? "", path: url, authorization, authorized: authorization === expected, status: 0 };
    requests.push(record);
    res.on("finish", () => (record.status = res.statusCode));
    if (!record.authorized) {
      req.resume();
      res.writeHead(401, { "www-authenticate": 'Basic realm="git-server stand-in"', "content-type": "text/plain" }).end("authentication required\n");
      return;
    }
    const [pathname, query = ""] = url.split(/\?(.*)/s, 2);
    const match = options.repos.map((name) => ({ name, rest: repositoryPath(decodeURIComponent(pathname), name) })).find((found) => found.rest !== undefined);
    if (!match) {
      req.resume();
      res.writeHead(404, { "content-type": "text/plain" }).end(`no repository at ${pathname}\n`);
      return;
    }
    runBackend(req, res, { root, pathInfo: `/${match.name}.git${match.rest}`, query });
  });

  const host = options.host ?? "127.0.0.1";
  const { port, urlHost } = await listenOn(server, host, options.port);
  return {
    url: `https://${urlHost}:${port}`,
    port,
    requests,
    bareRepoPath,
    log: (name) =>
      execFileSync("git", ["--git-dir", bareRepoPath(name), "log", "--format=%s", "main"], { encoding: "utf8" })
        .split("\n")
        .filter((line) => line.length > 0),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => {
          fs.rmSync(root, { recursive: true, force: true });
          if (error) reject(error);
          else resolve();
        });
      }),
  };
}

/** The part of `pathname` after the repository `name` (with or without .git), or undefined when it is another's. */
function repositoryPath(pathname: string, name: string): string | undefined {
  for (const prefix of [`/${name}.git`, `/${name}`]) {
    if (pathname === prefix) return "";
    if (pathname.startsWith(`${prefix}/`)) return pathname.slice(prefix.length);
  }
  return undefined;
}

/** A bare repository with one commit on main (a README naming it) that accepts pushes over HTTP. */
function createRepository(bare: string, name: string): void {
  const git = (args: string[], input?: string) =>
    execFileSync("git", ["--git-dir", bare, ...args], { input, encoding: "utf8", env: { ...process.env, ...COMMITTER } }).trim();
  fs.mkdirSync(path.dirname(bare), { recursive: true });
  execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", bare]);
  git(["config", "http.receivepack", "true"]);
  const blob = git(["hash-object", "-w", "--stdin"], `# ${name}\n`);
  const tree = git(["mktree"], `100644 blob ${blob}\tREADME.md\n`);
  const commit = git(["commit-tree", tree, "-m", "initial commit"]);
  git(["update-ref", "refs/heads/main", commit]);
}

/**
 * Runs git http-backend as a CGI program: the request's facts in the environment (every header as HTTP_*,
 * so Git-Protocol and Content-Encoding reach it), the body on stdin, and its CGI headers (Status among
 * them) turned into the response's status and headers, the rest streamed.
 */
function runBackend(req: http.IncomingMessage, res: http.ServerResponse, where: { root: string; pathInfo: string; query: string }): void {
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([name, value]) => [
      `HTTP_${name.toUpperCase().replaceAll("-", "_")}`,
      Array.isArray(value) ? value.join(", ") : (value ?? ""),
    ]),
  );
  const backend = spawn(GIT_HTTP_BACKEND, [], {
    env: {
      PATH: process.env.PATH,
      ...headers,
      GIT_PROJECT_ROOT: where.root,
      GIT_HTTP_EXPORT_ALL: "1",
      GATEWAY_INTERFACE: "CGI/1.1",
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: where.pathInfo,
      QUERY_STRING: where.query,
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      ...(req.headers["content-length"] ? { CONTENT_LENGTH: req.headers["content-length"] } : {}),
      REMOTE_USER: TOKEN_USER,
      REMOTE_ADDR: req.socket.remoteAddress ?? "",
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  req.pipe(backend.stdin);
  backend.stdin.on("error", () => {});
  let stderr = "";
  backend.stderr.on("data", (chunk: Buffer) => (stderr += chunk));

  let head = Buffer.alloc(0);
  let headersSent = false;
  backend.stdout.on("data", (chunk: Buffer) => {
    if (headersSent) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = headerEnd(head);
    if (!end) return;
    const { status, fields } = parseCgiHeaders(head.subarray(0, end.index).toString("latin1"));
    res.writeHead(status.code, status.reason, fields);
    headersSent = true;
    const body = head.subarray(end.index + end.length);
    if (body.length > 0) res.write(body);
  });
  backend.on("error", (error) => {
    if (!headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end(`git http-backend failed: ${error.message}\n`);
  });
  backend.on("close", (code) => {
    if (!headersSent) {
      res.writeHead(500, { "content-type": "text/plain" }).end(`git http-backend exited ${code} without headers: ${stderr}\n`);
      return;
    }
    res.end();
  });
}

/** Where the CGI header block ends (CRLF CRLF, or a bare LF LF), and the separator's length. */
function headerEnd(buffer: Buffer): { index: number; length: number } | undefined {
  const crlf = buffer.indexOf("\r\n\r\n");
  const lf = buffer.indexOf("\n\n");
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { index: crlf, length: 4 };
  if (lf >= 0) return { index: lf, length: 2 };
  return undefined;
}

function parseCgiHeaders(block: string): { status: { code: number; reason?: string }; fields: Record<string, string | string[]> } {
  let status: { code: number; reason?: string } = { code: 200 };
  const fields: Record<string, string | string[]> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") {
      const [, code, reason] = /^(\d{3})\s*(.*)$/.exec(value) ?? [];
      if (code) status = { code: Number(code), reason: reason || undefined };
      continue;
    }
    const existing = fields[name];
    fields[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return { status, fields };
}
