/**
 * Files shipped with the package (the Docker build contexts), found from the package's own location so
 * the component works from any program's working directory, installed or checked out.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type Agent, agentProfile, DEFAULT_AGENT } from "./agents";
import type { ImageAgent } from "./image/build-plan";

/** The package's root: components/ (run from source) and dist/ (compiled) both sit directly below it. */
export const PACKAGE_ROOT = path.resolve(__dirname, "..");

/**
 * A shipped file as the build provider should see it: relative to the working directory when it lies
 * inside it, so every checkout of one program declares the same inputs (no diff between two clones);
 * otherwise absolute.
 */
export function packageFile(relative: string, cwd: string = process.cwd()): string {
  const absolute = path.join(PACKAGE_ROOT, relative);
  const fromCwd = path.relative(cwd, absolute);
  return fromCwd === "" || fromCwd.startsWith("..") || path.isAbsolute(fromCwd) ? absolute : fromCwd;
}

/** An agent and the text of its install script (components/agents/<agent>/image/install-cli.sh), the agent image's AGENT_INSTALL build argument. */
export function imageAgent(agent: Agent = DEFAULT_AGENT): ImageAgent {
  return { profile: agentProfile(agent), installScript: fs.readFileSync(path.join(PACKAGE_ROOT, "components/agents", agent, "image/install-cli.sh"), "utf8") };
}
