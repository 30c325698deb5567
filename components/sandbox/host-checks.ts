/**
 * Checks of the sandboxes that need the Docker host's filesystem, kept apart from the pure schema so
 * schema tests stay pure. They run on the machine running Pulumi, which is the Docker host unless
 * `docker.host` points elsewhere (then the config skips them; only the CPU count, which the engine
 * reports, is checked and defaulted from the engine's word: cpuProblems, withHostDefaults).
 */
import { sensitiveHostPathReason } from "../guardrails/host-paths";
import type { HostProbe } from "../values/host-probe";
import { DEFAULT_CPUS, type SandboxConfig } from "./config";

/** The schema judged the path as written; a symlink may lead somewhere it would have refused. */
function symlinkProblem(key: string, written: string, readOnly: boolean, probe: HostProbe, homeDir: string): string | undefined {
  const real = probe.realPath(written);
  if (real === written) return undefined;
  const reason = sensitiveHostPathReason(real, homeDir, readOnly);
  return reason ? `${key}: "${written}" is a link to ${real}; refused: ${reason}` : undefined;
}

/** Fills what the config left to the host: CPUs default to DEFAULT_CPUS, or all of the host's (`hostCpus`) when it has fewer. */
export function withHostDefaults(sandboxes: readonly SandboxConfig[], hostCpus: number): SandboxConfig[] {
  const cpus = Math.min(DEFAULT_CPUS, hostCpus);
  return sandboxes.map((sandbox) => ({ ...sandbox, resources: { ...sandbox.resources, cpus: sandbox.resources.cpus ?? cpus } }));
}

/** How a problem names a sandbox's key: `sandboxes[0].workspace`, or `workspace` for the one-folder shortcut. */
export type SandboxKey = (index: number, field: string) => string;
export const listedSandboxKey: SandboxKey = (index, field) => `sandboxes[${index}].${field}`;
export const shortcutSandboxKey: SandboxKey = (_, field) => field;

/** The kernel's ceiling for RLIMIT_NOFILE: a container asking for more fails to start. */
const NR_OPEN_FILE = "/proc/sys/fs/nr_open";

/** Sandboxes asking for more CPUs than the Docker host has (`hostCpus`), which Docker refuses. */
export function cpuProblems(sandboxes: readonly SandboxConfig[], hostCpus: number, keyOf: SandboxKey = listedSandboxKey): string[] {
  return sandboxes.flatMap((sandbox, index) => {
    const asked = sandbox.resources.cpus;
    if (asked === undefined || asked <= hostCpus) return [];
    return [`${keyOf(index, "resources.cpus")}: ${asked} is more than the ${hostCpus} CPUs of this Docker host, which Docker refuses; use at most ${hostCpus}`];
  });
}

export function sandboxHostProblems(
  sandboxes: readonly SandboxConfig[],
  agentUid: number,
  probe: HostProbe,
  homeDir: string,
  keyOf: SandboxKey = listedSandboxKey,
): string[] {
  const problems: string[] = [];
  const nrOpen = Number(probe.readText(NR_OPEN_FILE)?.trim() ?? Number.NaN);
  sandboxes.forEach((sandbox, index) => {
    const key = (field: string) => keyOf(index, field);
    if (Number.isInteger(nrOpen) && sandbox.resources.openFiles > nrOpen) {
      problems.push(
        `${key("resources.openFiles")}: ${sandbox.resources.openFiles} is more than this host's fs.nr_open (${nrOpen}), so the sandbox could not start; use at most ${nrOpen}, e.g. 8192`,
      );
    }
    problems.push(...workspaceProblems(sandbox, agentUid, probe, homeDir, key("workspace")));
    sandbox.mounts.forEach((mount, mountIndex) => {
      const sourceKey = key(`mounts[${mountIndex}].source`);
      const mountLinked = symlinkProblem(sourceKey, mount.source, mount.readOnly, probe, homeDir);
      if (mountLinked) problems.push(mountLinked);
      if (!probe.stat(mount.source)) {
        problems.push(`${sourceKey}: "${mount.source}" does not exist on this machine; Docker would fail to start the sandbox`);
      }
    });
  });
  return problems;
}

/**
 * The workspace must exist as a folder, lead nowhere sensitive, and (read-write) be owned by the agent UID.
 * A refused workspace gets no advice about its owner: the fix is another folder, not other IDs.
 */
function workspaceProblems(sandbox: SandboxConfig, agentUid: number, probe: HostProbe, homeDir: string, key: string): string[] {
  // A cluster's sandbox has no folder here: its workspace is a clone in a volume of the cluster.
  if (sandbox.workspace === undefined) return [];
  const linked = symlinkProblem(key, sandbox.workspace, sandbox.mode === "ro", probe, homeDir);
  if (linked) return [linked];
  const workspace = probe.stat(sandbox.workspace);
  if (!workspace) return [`${key}: "${sandbox.workspace}" does not exist on this machine; create it or fix the path`];
  if (!workspace.isDirectory) return [`${key}: "${sandbox.workspace}" is a file; the workspace must be a folder`];
  if (sandbox.mode === "clone" && !probe.stat(`${sandbox.workspace}/.git`)) {
    return [`${key}: "${sandbox.workspace}" is not a git repository, which clone mode clones; run git init there or use mode: rw`];
  }
  if (sandbox.mode !== "rw" || sandbox.runAsRoot || workspace.uid === agentUid) return [];
  const owned = `${key}: "${sandbox.workspace}" is owned by UID ${workspace.uid} but the agent runs as UID ${agentUid}, so it could not write there and its files would not be yours`;
  // The agent may not be root (image.agentUid must be at least 1), so a root-owned folder needs a new owner.
  if (workspace.uid === 0) return [`${owned}; give the folder to your user (sudo chown -R "$(id -u):$(id -g)" "${sandbox.workspace}") or use mode: ro`];
  return [`${owned}; set image.agentUid: ${workspace.uid} and image.agentGid: ${workspace.gid} (or use mode: ro)`];
}
