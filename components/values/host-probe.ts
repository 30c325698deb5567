/**
 * How checks see the machine running Pulumi (the Docker host, for a local engine): its CPUs and its
 * files. Checks take it as an argument so tests pass a fake.
 */
import * as fs from "node:fs";
import * as os from "node:os";

export interface PathFacts {
  readonly isDirectory: boolean;
  readonly uid: number;
  readonly gid: number;
}

/** How the checks see the filesystem; tests pass a fake. */
export interface HostProbe {
  /** CPUs of the Docker host (this machine, for a local engine). */
  cpuCount(): number;
  stat(path: string): PathFacts | undefined;
  /** The file's text; undefined when it cannot be read or is not UTF-8 (a byte order mark is kept). */
  readText(path: string): string | undefined;
  /** Where a path really leads once symlinks are followed. */
  realPath(path: string): string;
}

export const realHostProbe: HostProbe = {
  cpuCount: () => os.cpus().length,
  stat(path) {
    try {
      const stats = fs.statSync(path);
      return { isDirectory: stats.isDirectory(), uid: stats.uid, gid: stats.gid };
    } catch {
      return undefined;
    }
  },
  readText(path) {
    try {
      // Strict, so a file that is not UTF-8 is refused rather than read with replacement characters.
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(fs.readFileSync(path));
    } catch {
      return undefined;
    }
  },
  realPath(path) {
    try {
      return fs.realpathSync(path);
    } catch {
      return path;
    }
  },
};
