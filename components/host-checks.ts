/**
 * Checks that need the Docker host's filesystem, kept apart from the pure schema so schema tests stay pure.
 * They run on the machine running Pulumi, which is the Docker host unless `docker.host` points elsewhere.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { DEFAULT_CPUS, type StackConfig } from "./config";
import { sensitiveHostPathReason } from "./host-paths";

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
      return fs.readFileSync(path, "utf8");
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

/** The schema judged the path as written; a symlink may lead somewhere it would have refused. */
function symlinkProblem(key: string, written: string, readOnly: boolean, probe: HostProbe, homeDir: string): string | undefined {
  const real = probe.realPath(written);
  if (real === written) return undefined;
  const reason = sensitiveHostPathReason(real, homeDir, readOnly);
  return reason ? `${key}: "${written}" is a link to ${real}; refused: ${reason}` : undefined;
}

/** Fills what the config left to the host: CPUs default to DEFAULT_CPUS, or all of the host's when it has fewer. */
export function withHostDefaults(config: StackConfig, probe: Pick<HostProbe, "cpuCount">): StackConfig {
  const cpus = Math.min(DEFAULT_CPUS, probe.cpuCount());
  return {
    ...config,
    sandboxes: config.sandboxes.map((sandbox) => ({ ...sandbox, resources: { ...sandbox.resources, cpus: sandbox.resources.cpus ?? cpus } })),
  };
}

export function hostProblems(config: StackConfig, probe: HostProbe, homeDir: string): string[] {
  const problems: string[] = [];
  const { agentUid } = config.image;
  const cpus = probe.cpuCount();
  config.sandboxes.forEach((sandbox, index) => {
    const key = `sandboxes[${index}]`;
    const asked = sandbox.resources.cpus;
    if (asked !== undefined && asked > cpus) {
      problems.push(`${key}.resources.cpus: ${asked} is more than the ${cpus} CPUs of this Docker host, which Docker refuses; use at most ${cpus}`);
    }
    const workspace = probe.stat(sandbox.workspace);
    if (!workspace) {
      problems.push(`${key}.workspace: "${sandbox.workspace}" does not exist on this machine; create it or fix the path`);
    } else if (!workspace.isDirectory) {
      problems.push(`${key}.workspace: "${sandbox.workspace}" is a file; the workspace must be a folder`);
    } else if (sandbox.mode === "rw" && !sandbox.runAsRoot && workspace.uid !== agentUid) {
      problems.push(
        `${key}.workspace: "${sandbox.workspace}" is owned by UID ${workspace.uid} but the agent runs as UID ${agentUid}, so it could not write there and its files would not be yours; set image.agentUid: ${workspace.uid} and image.agentGid: ${workspace.gid} (or use mode: ro)`,
      );
    }
    const linked = symlinkProblem(`${key}.workspace`, sandbox.workspace, sandbox.mode === "ro", probe, homeDir);
    if (linked) problems.push(linked);
    sandbox.mounts.forEach((mount, mountIndex) => {
      const mountLinked = symlinkProblem(`${key}.mounts[${mountIndex}].source`, mount.source, mount.readOnly, probe, homeDir);
      if (mountLinked) problems.push(mountLinked);
      if (!probe.stat(mount.source)) {
        problems.push(`${key}.mounts[${mountIndex}].source: "${mount.source}" does not exist on this machine; Docker would fail to start the sandbox`);
      }
    });
  });
  const caFile = config.image.extraCaCertsFile;
  if (caFile) {
    const pem = probe.readText(caFile);
    if (pem === undefined) problems.push(`image.extraCaCertsFile: "${caFile}" cannot be read; give a readable PEM file`);
    else if (!pem.includes("-----BEGIN CERTIFICATE-----")) problems.push(`image.extraCaCertsFile: "${caFile}" holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  }
  return problems;
}
