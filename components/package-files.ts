/**
 * Files shipped with the package (the Docker build contexts), found from the package's own location so
 * the component works from any program's working directory, installed or checked out.
 */
import * as path from "node:path";

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
