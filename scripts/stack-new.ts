/**
 * npm run stack:new -- <name> [workspace folder]
 * Creates and selects stack <name> on the local file backend, with a stack file written from this
 * machine's facts, then prints the next command.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { realHostProbe } from "../components/values/host-probe";
import {
  developerStackFile,
  isolationReason,
  newStackIsolation,
  offeredRuntimes,
  stackNamePrefixProblem,
  stackNameProblem,
  validateStackFile,
} from "./developer-stack";

const projectDir = path.resolve(__dirname, "..");
// npm runs scripts from the project folder; INIT_CWD is where the developer typed the command.
const invokedFrom = process.env.INIT_CWD ?? process.cwd();

function repositoryRoot(folder: string): string {
  try {
    return execFileSync("git", ["rev-parse", "--show-toplevel"], { cwd: folder, encoding: "utf8" }).trim();
  } catch {
    return folder;
  }
}

function fail(message: string): never {
  console.error(`stack:new: ${message}`);
  process.exit(1);
}

const [stack, workspaceArg] = process.argv.slice(2);
if (!stack) fail("usage: npm run stack:new -- <name> [workspace folder]");
const existingStacks = fs.readdirSync(projectDir).flatMap((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1] ?? []);
const nameProblem = stackNameProblem(stack) ?? stackNamePrefixProblem(stack, existingStacks);
if (nameProblem) fail(nameProblem);

const workspace = path.resolve(invokedFrom, workspaceArg ?? repositoryRoot(invokedFrom));
const owner = realHostProbe.stat(workspace);
if (!owner?.isDirectory) fail(`workspace "${workspace}" is not a folder on this machine`);
const isolation = newStackIsolation(offeredRuntimes());
const file = developerStackFile({ stack, workspace, uid: owner.uid, gid: owner.gid, isolation });
const target = path.join(projectDir, file.path);
if (fs.existsSync(target)) fail(`${file.path} already exists; pick another name or edit that file`);

try {
  validateStackFile(parse(file.text).config, realHostProbe);
} catch (error) {
  fail((error as Error).message);
}
fs.writeFileSync(target, file.text);
console.log(`Wrote ${file.path} (workspace ${workspace}, agent UID:GID ${owner.uid}:${owner.gid}, isolation ${isolation}: ${isolationReason(isolation)})`);

const hasPulumi = spawnSync("pulumi", ["version"], { stdio: "ignore" }).status === 0;
if (!hasPulumi) {
  console.log("The Pulumi CLI is not installed (https://www.pulumi.com/docs/install/); the stack file is ready for when it is.");
} else {
  const init = spawnSync("bash", ["scripts/with-local-backend.sh", "pulumi", "stack", "init", stack, "--secrets-provider", "passphrase"], {
    cwd: projectDir,
    stdio: "inherit",
  });
  if (init.status !== 0) fail(`pulumi stack init ${stack} failed (see above); the stack file is written`);
}
console.log(`Next: npm run pulumi -- config set --stack ${stack} --secret anthropicApiKey <key> && AGENT_SANDBOX_STACK=${stack} npm run preview`);
