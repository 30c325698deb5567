/**
 * Rules about one sandbox that span its keys: unsafe settings need an acknowledgement, host paths are
 * judged by the policy contract, extra mounts and env may not collide with what the sandbox sets itself.
 */
import * as path from "node:path";
import type { z } from "zod";
import { AGENT_PROFILES, type Agent, AgentAuth, type AgentProfile, API_KEY_SECRETS, DEFAULT_AGENT } from "../agents";
import { gitThroughProxyEnvironment } from "../credentials/git-rewrite";
import { EgressMode } from "../egress/config";
import { PROBE_ALLOWED_ENV, PROBE_DENIED_ENV, proxyEnvironment } from "../egress/network";
import { looksLikeSecretEnv } from "../guardrails/credentials";
import { judgeHostBind, looksLikeCredentialPath, SECRETS_PATH } from "../guardrails/host-paths";
import { DEFAULT_PROTECTED_PATHS, workspaceRelativePath } from "../guardrails/protected-paths";
import { Isolation } from "../hardening/isolation";
import { isSize, sizeToMegabytes } from "../values/schema";
import type { SandboxConfig } from "./config";
import { MAX_DISK_PERCENT_ENV, OWN_MOUNT_TARGETS } from "./contract";
import { type SandboxTopology, sandboxTopology } from "./topology";
import { UNSAFE_ITEMS, type UnsafeSetting } from "./unsafe-settings";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What the checks need to know about the machine, passed in so they stay pure and testable. */
export interface HostContext {
  readonly homeDir: string;
}

/** Fields as they may arrive at an always-run refinement: possibly wrong types, so read defensively. */
export type Loose<T> = { [K in keyof T]?: unknown };

export const refuseUnacknowledgedUnsafe = (host: HostContext) => (sandbox: Loose<SandboxConfig>, ctx: z.RefinementCtx) => {
  const acknowledged = Array.isArray(sandbox.acknowledgeUnsafe) ? sandbox.acknowledgeUnsafe : [];
  for (const [item, setting] of requestedUnsafeItems(sandbox, host)) {
    if (acknowledged.includes(item)) continue;
    ctx.addIssue({
      code: "custom",
      path: setting,
      message: `refused because ${UNSAFE_ITEMS[item]}; if you accept that, add "${item}" to acknowledgeUnsafe of this sandbox`,
    });
  }
  refuseSensitiveBinds(sandbox, host, ctx);
  refuseMountTargetClashes(sandbox, ctx);
  refuseUnknownUnprotect(sandbox, ctx);
  if (Array.isArray(sandbox.cloneCopy) && sandbox.cloneCopy.length > 0 && sandbox.mode !== "clone") {
    ctx.addIssue({ code: "custom", path: ["cloneCopy"], message: 'copies files into a clone, so it needs mode: "clone"; remove it or set mode: clone' });
  }
  if (sandbox.hostNetwork === true && egressModeOf(sandbox) !== EgressMode.Open) {
    ctx.addIssue({
      code: "custom",
      path: ["hostNetwork"],
      message: 'the host network bypasses any egress policy; also set egress.mode: "open" (acknowledged as open-egress)',
    });
  }
  if (sandbox.hostNetwork === true && authOf(sandbox) === AgentAuth.Proxy) {
    ctx.addIssue({
      code: "custom",
      path: ["auth"],
      message:
        'a sandbox on the host network cannot reach a credential proxy, so its agent has no key; set auth: "subscription" (a login kept in its home volume) or drop hostNetwork',
    });
  }
  refuseWhatGvisorCannotRun(sandbox, ctx);
  const env = typeof sandbox.env === "object" && sandbox.env !== null ? sandbox.env : {};
  const ownEnv = sandboxOwnEnv(sandbox);
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) ctx.addIssue({ code: "custom", path: ["env", name], message: 'is not a valid variable name (e.g. "NODE_ENV")' });
    const own = ownEnv.get(name);
    if (own) ctx.addIssue({ code: "custom", path: ["env", name], message: `is set by the sandbox itself (${own}) and would be overwritten; remove it` });
    else if (agentCredentialEnv(sandbox).includes(name)) {
      ctx.addIssue({
        code: "custom",
        path: ["env", name],
        message:
          'is a credential of the agent, which under auth proxy only the credential proxy adds, outside the sandbox; remove it, or set auth: "subscription"',
      });
    }
    if (typeof value === "string" && looksLikeSecretEnv(name, value)) {
      ctx.addIssue({
        code: "custom",
        path: ["env", name],
        message: `looks like a secret and would be plain in state and docker inspect; use pulumi config set --secret (${[...API_KEY_SECRETS, "gitToken"].join(", ")})`,
      });
    }
  }
};

const authOf = (sandbox: Loose<SandboxConfig>) => (sandbox.auth ?? AgentAuth.Proxy) as AgentAuth;
const egressModeOf = (sandbox: Loose<SandboxConfig>) => ((sandbox.egress as { mode?: unknown } | undefined)?.mode ?? EgressMode.Allowlist) as EgressMode;

const gitReposOf = (sandbox: Loose<SandboxConfig>): unknown[] => {
  const gitRepos = (sandbox.egress as { gitRepos?: unknown } | undefined)?.gitRepos;
  return Array.isArray(gitRepos) ? gitRepos : [];
};

/** The topology the sandbox will have, read from settings that may not have passed the schema yet. */
function looseTopology(sandbox: Loose<SandboxConfig>): SandboxTopology {
  return sandboxTopology({
    hostNetwork: sandbox.hostNetwork === true,
    auth: authOf(sandbox),
    egress: { mode: egressModeOf(sandbox), gitRepos: gitReposOf(sandbox) },
  });
}

/** The agent a sandbox's config names (the default one when it names none); undefined for a name no agent has. */
export function agentOf(sandbox: Loose<SandboxConfig>): AgentProfile | undefined {
  return Object.hasOwn(AGENT_PROFILES, String(sandbox.agent ?? DEFAULT_AGENT))
    ? AGENT_PROFILES[(sandbox.agent as Agent | undefined) ?? DEFAULT_AGENT]
    : undefined;
}

/** The agent whose API the sandbox's credential proxy stands in for (auth proxy, with a network of its own), if any. */
function proxiedAgent(sandbox: Loose<SandboxConfig>): AgentProfile | undefined {
  return looseTopology(sandbox).agentApiThroughProxy ? agentOf(sandbox) : undefined;
}

/** The agent's credential variables a sandbox under auth proxy may not set (its own placeholder key aside). */
function agentCredentialEnv(sandbox: Loose<SandboxConfig>): readonly string[] {
  return proxiedAgent(sandbox)?.api.credentialEnv ?? [];
}

/** Variables the program sets in a sandbox, each with what for; the proxies' ones where it has them. */
function sandboxOwnEnv(sandbox: Loose<SandboxConfig>): Map<string, string> {
  const topology = looseTopology(sandbox);
  const own = new Map<string, string>([
    [PROBE_ALLOWED_ENV, "its healthcheck's egress probe; set egress.healthProbe.allowed"],
    [PROBE_DENIED_ENV, "its healthcheck's egress probe; set egress.healthProbe.denied"],
    [MAX_DISK_PERCENT_ENV, "its healthcheck's disk threshold; set healthcheck.maxDiskPercent"],
  ]);
  if (topology.egressProxy)
    for (const name of Object.keys(proxyEnvironment(""))) own.set(name, "the egress proxy's address; egress goes through it in allowlist mode");
  const agent = proxiedAgent(sandbox);
  if (agent) {
    own.set(agent.api.baseUrlEnv, "the credential proxy's address under auth proxy; set apiUpstream to send the agent's API requests elsewhere");
    own.set(agent.api.keyEnv, `the placeholder the credential proxy replaces with ${agent.provider.secretKey}`);
  }
  if (topology.ownNetwork && gitReposOf(sandbox).length > 0) {
    for (const name of Object.keys(gitThroughProxyEnvironment(""))) own.set(name, "git's way to the credential proxy for egress.gitRepos");
  }
  return own;
}

/** runsc itself needs this much of a sandbox's memory limit: below it the sandbox cannot start (docs/gvisor-findings.md). */
export const GVISOR_MIN_MEMORY_MB = 64;

/**
 * The least CPU a gVisor sandbox can be worked with. Under runsc a `docker exec` (the healthcheck, npm run
 * shell, a run's agent) is served by gVisor's kernel inside the container's CPU quota, about 80 ms of CPU
 * each: measured, `true` took 8 s at 0.01 CPU, 1.9 s at 0.05 and 0.8 s at 0.1, and a shell with a little work
 * failed at 0.01 ("OCI runtime exec failed: ... runsc did not terminate successfully"). Under runc the exec
 * itself costs the quota nothing.
 */
export const GVISOR_MIN_CPUS = 0.1;

/**
 * What a gVisor sandbox cannot have: a network whose names only Docker's DNS (out of gVisor's reach) would
 * answer, too little memory for runsc, or too little CPU for runsc to serve an exec.
 */
function refuseWhatGvisorCannotRun(sandbox: Loose<SandboxConfig>, ctx: z.RefinementCtx): void {
  if (sandbox.isolation !== Isolation.Gvisor) return;
  const network = looseTopology(sandbox).network;
  if (network === "open" || network === "host") {
    ctx.addIssue({
      code: "custom",
      path: ["isolation"],
      message: `gVisor's network stack cannot reach Docker's DNS, so on ${network === "open" ? 'egress.mode "open"' : "the host network"} the agent could look up no name; use egress.mode "allowlist" (its egress proxy looks names up) or isolation "container"`,
    });
  }
  const memory = (sandbox.resources as { memory?: unknown } | undefined)?.memory;
  if (typeof memory === "string" && isSize(memory) && sizeToMegabytes(memory) < GVISOR_MIN_MEMORY_MB) {
    ctx.addIssue({
      code: "custom",
      path: ["resources", "memory"],
      message: `${JSON.stringify(memory)} leaves no room for gVisor's own kernel, which needs about ${GVISOR_MIN_MEMORY_MB}m of the limit to start; use at least "${GVISOR_MIN_MEMORY_MB}m" with isolation "gvisor"`,
    });
  }
  const cpus = (sandbox.resources as { cpus?: unknown } | undefined)?.cpus;
  if (typeof cpus === "number" && cpus < GVISOR_MIN_CPUS) {
    ctx.addIssue({
      code: "custom",
      path: ["resources", "cpus"],
      message: `${cpus} CPU is too little for gVisor's own kernel, which serves every docker exec (the healthcheck, npm run shell, runs) inside the limit: an exec then takes seconds or fails; use at least ${GVISOR_MIN_CPUS} with isolation "gvisor"`,
    });
  }
}

/**
 * Extra mounts may not land where the program mounts the sandbox's own folders (Docker refuses a second
 * mount at one target), nor inside the credentials folder, nor twice at one target.
 */
function refuseMountTargetClashes(sandbox: Loose<SandboxConfig>, ctx: z.RefinementCtx): void {
  const mounts = Array.isArray(sandbox.mounts) ? (sandbox.mounts as { target?: unknown }[]) : [];
  const seen = new Map<string, number>();
  mounts.forEach((mount, index) => {
    if (typeof mount?.target !== "string" || !path.isAbsolute(mount.target)) return;
    const target = path.posix.normalize(mount.target).replace(/(.)\/$/, "$1");
    const key = ["mounts", index, "target"];
    const own = OWN_MOUNT_TARGETS[target];
    if (own)
      ctx.addIssue({
        code: "custom",
        path: key,
        message: `${target} is where the sandbox mounts ${own}; choose another target, e.g. "/home/agent/.npmrc" or "/workspace/vendor"`,
      });
    else if (target.startsWith(`${SECRETS_PATH}/`))
      ctx.addIssue({ code: "custom", path: key, message: `${target} is inside ${SECRETS_PATH}, the credentials volume; choose another target` });
    else if (seen.has(target))
      ctx.addIssue({ code: "custom", path: key, message: `${target} is already the target of mounts[${seen.get(target)}]; one mount per target` });
    seen.set(target, seen.get(target) ?? index);
  });
}

/** `unprotect` removes default protected paths; anything else in it is a typo that would protect nothing less. */
function refuseUnknownUnprotect(sandbox: Loose<SandboxConfig>, ctx: z.RefinementCtx): void {
  const unprotect = Array.isArray(sandbox.unprotect) ? sandbox.unprotect : [];
  unprotect.forEach((entry, index) => {
    const relative = typeof entry === "string" ? workspaceRelativePath(entry) : undefined;
    if (relative !== undefined && !DEFAULT_PROTECTED_PATHS.includes(relative)) {
      ctx.addIssue({
        code: "custom",
        path: ["unprotect", index],
        message: `${JSON.stringify(entry)} is not one of the protected paths (${DEFAULT_PROTECTED_PATHS.join(", ")}); remove it`,
      });
    }
  });
}

/** The unsafe items a sandbox asks for, each with the path of the config key that asks for it. */
export function requestedUnsafeItems(sandbox: Loose<SandboxConfig>, host: HostContext): Map<UnsafeSetting, (string | number)[]> {
  const requested = new Map<UnsafeSetting, (string | number)[]>();
  if (sandbox.dockerSocket === true) requested.set("docker-socket", ["dockerSocket"]);
  if (sandbox.privileged === true) requested.set("privileged", ["privileged"]);
  if (sandbox.hostNetwork === true) requested.set("host-network", ["hostNetwork"]);
  if ((sandbox.egress as { mode?: unknown } | undefined)?.mode === "open") requested.set("open-egress", ["egress", "mode"]);
  if (sandbox.hostPid === true) requested.set("host-pid", ["hostPid"]);
  if (sandbox.hostIpc === true) requested.set("host-ipc", ["hostIpc"]);
  if (Array.isArray(sandbox.capAdd) && sandbox.capAdd.length > 0) requested.set("added-capabilities", ["capAdd"]);
  if (sandbox.runAsRoot === true) requested.set("root-user", ["runAsRoot"]);
  if (sandbox.protectWorkspace === false && (sandbox.mode ?? "rw") === "rw") requested.set("unprotected-workspace", ["protectWorkspace"]);
  for (const bind of bindSources(sandbox)) {
    const item = judgeHostBind(bind.source, host.homeDir, bind.readOnly)?.acknowledgement;
    // A socket bound through mounts is the same request as dockerSocket: true, reported under that key.
    if (item && !requested.has(item)) requested.set(item, item === "docker-socket" ? ["dockerSocket"] : bind.key);
  }
  return requested;
}

interface BindSource {
  readonly source: string;
  readonly readOnly: boolean;
  /** Issue path of the source, relative to the sandbox. */
  readonly key: (string | number)[];
}

function bindSources(sandbox: Loose<SandboxConfig>): BindSource[] {
  const binds: BindSource[] = [];
  if (typeof sandbox.workspace === "string") binds.push({ source: sandbox.workspace, readOnly: sandbox.mode === "ro", key: ["workspace"] });
  const mounts = Array.isArray(sandbox.mounts) ? (sandbox.mounts as { source?: unknown; readOnly?: unknown }[]) : [];
  mounts.forEach((mount, index) => {
    if (typeof mount?.source === "string") binds.push({ source: mount.source, readOnly: mount.readOnly !== false, key: ["mounts", index, "source"] });
  });
  return binds;
}

/**
 * Host paths no acknowledgement makes acceptable: system trees such as /etc or /proc, and credentials
 * mounted read-write. (Acknowledgeable binds — /, the home folder, engine sockets — are requests, above;
 * relative paths are the schema's own error.)
 */
export function refuseSensitiveBinds(sandbox: Loose<SandboxConfig>, host: HostContext, ctx: z.RefinementCtx): void {
  for (const bind of bindSources(sandbox)) {
    if (!path.isAbsolute(bind.source)) continue;
    const judgement = judgeHostBind(bind.source, host.homeDir, bind.readOnly);
    if (judgement?.acknowledgement) continue;
    if (judgement) ctx.addIssue({ code: "custom", path: bind.key, message: `refused: ${judgement.reason}` });
    else if (!bind.readOnly && looksLikeCredentialPath(bind.source, host.homeDir)) {
      ctx.addIssue({
        code: "custom",
        path: bind.key,
        message: `refused: ${bind.source} looks like a credential and would be writable by the agent; mount it with readOnly: true`,
      });
    }
  }
}
