/**
 * The host side of a workspace in the live tests: a hash that proves a tree untouched, and git run on
 * the host as root on repositories the agent user owns.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { AGENT_GID, AGENT_UID } from "./engine";
import { agentWorkspace } from "./live-program";

/** A hash of every entry's path, mode, owner and content below a folder: equal hashes, an untouched tree. */
export function treeHash(dir: string): string {
  const hash = createHash("sha256");
  const walk = (folder: string) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(folder, entry.name);
      const stat = fs.lstatSync(full);
      hash.update(`${path.relative(dir, full)}\0${stat.mode}\0${stat.uid}:${stat.gid}\0`);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) hash.update(fs.readFileSync(full));
    }
  };
  walk(dir);
  return hash.digest("hex");
}

/** git on the host, as root, in a repository the agent user owns (which git would otherwise call dubious). */
export function hostGit(repository: string, ...args: string[]): string {
  return execFileSync("git", ["-c", "safe.directory=*", "-c", "user.name=dev", "-c", "user.email=dev@example.com", "-C", repository, ...args], {
    encoding: "utf8",
  }).trim();
}

/**
 * A git repository on branch main with one commit ("start") of the given files, owned by the agent user;
 * with `pack`, its objects packed as a clone's are rather than left loose as `git add` leaves them.
 */
export function agentRepository(prefix: string, files: Record<string, string>, options: { pack?: boolean } = {}): string {
  const repository = agentWorkspace(prefix);
  hostGit(repository, "init", "-q", "-b", "main");
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(repository, file)), { recursive: true });
    fs.writeFileSync(path.join(repository, file), content);
  }
  hostGit(repository, "add", ".");
  hostGit(repository, "commit", "-q", "-m", "start");
  if (options.pack) hostGit(repository, "repack", "-adq");
  execFileSync("chown", ["-R", `${AGENT_UID}:${AGENT_GID}`, repository]);
  return repository;
}
