/**
 * Safety rules about host paths and host namespaces that the stack-config schema and the CrossGuard
 * policy pack (policy/) must both enforce, so a program edited by hand is refused for the same reasons
 * as a bad stack config. Pure: no Pulumi import, no filesystem access. Symlinks are not resolved here;
 * the filesystem validation step should pass `fs.realpathSync(source)` so a link to /etc is caught too.
 */
import * as path from "node:path";
import { KNOWN_ENGINES } from "../engine/engine";

/** Where the engines put their API socket; mounting it hands the sandbox root on the host. */
const ENGINE_SOCKET_PATHS: readonly string[] = KNOWN_ENGINES.flatMap((engine) => engine.sockets.paths);

/** Engine API sockets by file name, wherever they live. */
const ENGINE_SOCKET_NAMES: readonly string[] = KNOWN_ENGINES.flatMap((engine) => engine.sockets.names);

/** Docker's namespace modes that share a host namespace with the container. */
export const HOST_NAMESPACE_MODE = "host";

/** The container namespaces Docker can share with the host: the acknowledgement each needs, and its provider input. */
export const HOST_NAMESPACE_INPUTS = {
  "host-network": "networkMode",
  "host-pid": "pidMode",
  "host-ipc": "ipcMode",
  "host-userns": "usernsMode",
} as const;

/**
 * Unsafe settings a stack may keep only when its config acknowledges them by these names. The program
 * copies the acknowledged names into the container label ACKNOWLEDGED_UNSAFE_LABEL (comma-separated);
 * the policy pack accepts exactly those and refuses everything else (contract in policy/rules.ts).
 */
export const UNSAFE_ACKNOWLEDGEMENTS = [
  "docker-socket",
  "privileged",
  "host-network",
  "host-pid",
  "host-ipc",
  "host-userns",
  "added-capabilities",
  "root-user",
  "host-root-mount",
  "home-folder-mount",
  "unprotected-workspace",
  "credentials-in-sandbox",
] as const;
export type UnsafeAcknowledgement = (typeof UNSAFE_ACKNOWLEDGEMENTS)[number];

/** Where credential files appear inside a sandbox: always mounted read-only (program and policy pack). */
export const SECRETS_PATH = "/run/agent-secrets";

/** The container label that carries the acknowledged unsafe settings, e.g. `privileged,host-network`. */
export const ACKNOWLEDGED_UNSAFE_LABEL = "dev.agent-sandbox.acknowledged-unsafe";

/** Host folders whose whole subtree is refused: system config, runtime sockets, kernel and device files. */
const SENSITIVE_TREES: readonly string[] = ["/etc", "/var/run", "/run", "/proc", "/sys", "/dev", "/boot"];

/**
 * Normalizes a host path the way the engine will see it: `~` expanded, `//`, `.` and `..` collapsed,
 * trailing slash dropped. Relative paths stay relative (the caller decides what they mean).
 */
export function normalizeHostPath(hostPath: string, homeDir: string): string {
  const expanded = hostPath === "~" || hostPath.startsWith("~/") ? homeDir + hostPath.slice(1) : hostPath;
  const normalized = path.posix.normalize(expanded);
  return normalized.length > 1 && normalized.endsWith("/") ? normalized.slice(0, -1) : normalized;
}

/** True when `candidate` is `folder` or inside it (both normalized). */
export function isSameOrInside(candidate: string, folder: string): boolean {
  return candidate === folder || candidate.startsWith(folder === "/" ? "/" : `${folder}/`);
}

/** True when binding this host path gives the container an engine API socket (the file or its folder). */
export function exposesEngineSocket(hostPath: string, homeDir: string): boolean {
  const normalized = normalizeHostPath(hostPath, homeDir);
  return ENGINE_SOCKET_NAMES.includes(path.posix.basename(normalized)) || ENGINE_SOCKET_PATHS.some((socket) => path.posix.dirname(socket) === normalized);
}

/**
 * How binding `hostPath` into a sandbox is judged: undefined when acceptable; otherwise the reason, and the
 * acknowledgement that makes it acceptable when one can. Acknowledgeable: an engine socket file
 * (docker-socket), `/` itself (host-root-mount), the home folder itself (home-folder-mount). Refused
 * outright: relative paths, anything under /etc, /run, /var/run (the socket folders included), /proc, /sys,
 * /dev, /boot, and `~/.ssh` unless mounted read-only. The stack config and the policy pack both judge by it.
 */
export function judgeHostBind(hostPath: string, homeDir: string, readOnly: boolean): { reason: string; acknowledgement?: UnsafeAcknowledgement } | undefined {
  const normalized = normalizeHostPath(hostPath, homeDir);
  const home = normalizeHostPath(homeDir, homeDir);
  if (!path.posix.isAbsolute(normalized)) {
    return { reason: `${hostPath} is not an absolute path, so what it names depends on the working directory; use an absolute path` };
  }
  if (ENGINE_SOCKET_NAMES.includes(path.posix.basename(normalized))) {
    return { reason: `${hostPath} exposes the container engine's API socket, which is root on the host`, acknowledgement: "docker-socket" };
  }
  if (normalized === "/") {
    return { reason: `${hostPath} is the host's whole filesystem; mount a project folder instead`, acknowledgement: "host-root-mount" };
  }
  const tree = SENSITIVE_TREES.find((folder) => isSameOrInside(normalized, folder));
  if (tree !== undefined) {
    return { reason: `${hostPath} is inside ${tree}, host system files the sandbox must not see; mount a project folder instead` };
  }
  if (normalized === home) {
    return {
      reason: `${hostPath} is the home folder itself (keys, tokens, shell history); mount a project folder inside it instead`,
      acknowledgement: "home-folder-mount",
    };
  }
  if (!readOnly && isSameOrInside(normalized, `${home}/.ssh`)) {
    return { reason: `${hostPath} is inside ~/.ssh and mounted read-write, so the agent could add keys or edit known_hosts; mount it read-only` };
  }
  return undefined;
}

/** Why bind-mounting `hostPath` needs an acknowledgement or is refused (judgeHostBind's reason), or undefined. */
export function sensitiveHostPathReason(hostPath: string, homeDir: string, readOnly: boolean): string | undefined {
  return judgeHostBind(hostPath, homeDir, readOnly)?.reason;
}

/** File names and folders (relative to any parent) that hold credentials. */
const CREDENTIAL_PATTERNS: readonly RegExp[] = [
  /(^|\/)\.ssh(\/|$)/,
  /(^|\/)\.aws(\/|$)/,
  /(^|\/)\.config\/gcloud(\/|$)/,
  /(^|\/)\.docker\/config\.json$/,
  /(^|\/)\.netrc$/,
  /(^|\/)\.git-credentials$/,
  /\.(pem|key)$/i,
  /(^|\/)[^/]*(api[-_]?key|token)[^/]*$/i,
];

/** True when a host path looks like a credential file or folder (keys, cloud logins, tokens). */
export function looksLikeCredentialPath(hostPath: string, homeDir: string): boolean {
  const normalized = normalizeHostPath(hostPath, homeDir);
  return CREDENTIAL_PATTERNS.some((pattern) => pattern.test(normalized));
}
