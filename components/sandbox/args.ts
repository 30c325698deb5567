/** The sandbox section of the component's arguments (`sandboxes[i]`) and the refresh thresholds, documented: what each key means and its default. */
import type { AgentAuth } from "../agents";
import type { EgressArgs } from "../egress/args";
import type { Isolation } from "../hardening/isolation";
import type { RestartPolicy, SandboxMode } from "./config";

/** One sandbox. */
export interface SandboxArgs {
  /** Lowercase letters, digits and dashes, starting with a letter (e.g. "main"); names its container, network and volumes. */
  readonly name: string;
  /** The developer's code folder on the Docker host (absolute), mounted at /workspace; in clone mode the git repository cloned there. Required on Docker; refused on a cluster. */
  readonly workspace?: string;
  /**
   * On a cluster (kubernetes set): the repository cloned into the sandbox's workspace volume at its first
   * start, as `host[:port]/path` (e.g. "github.com/my-org/my-repo"), through the credential proxy, so it
   * must be listed in egress.gitRepos. Unset: the workspace starts empty.
   */
  readonly repository?: string;
  /**
   * rw (default) lets the agent edit your code, its protected paths read-only; ro makes the workspace
   * read-only (reviews, questions); clone gives the agent its own clone of the repository in a volume,
   * and the host repository changes only when you run the sandbox's `bringBack` output.
   */
  readonly mode?: SandboxMode;
  /** The agent CLI the sandbox runs: "claude" (the default, Claude Code), "codex" or "opencode"; each gets an image of its own. */
  readonly agent?: string;
  /**
   * How the agent authenticates to its API. proxy (default): the sandbox's credential proxy adds the
   * stack's key for the agent's API (anthropicApiKey, openaiApiKey) outside the sandbox, which holds only a placeholder, and sign-in endpoints are
   * refused. subscription: the agent's own login (OAuth), kept in the home volume; weaker, because the
   * sandbox then holds the login's token.
   */
  readonly auth?: AgentAuth;
  /** Where the credential proxy sends the agent's API requests, over TLS (default the agent's own API); a company gateway may add a path prefix, e.g. "https://llm-gateway.example.com/v2". */
  readonly apiUpstream?: string;
  /** CPU, memory, process and open-file limits. */
  readonly resources?: ResourcesArgs;
  /** Extra bind mounts from the Docker host. */
  readonly mounts?: MountArgs[];
  /** Plain environment for the sandbox. Secrets never go here: they would be plain in state and docker inspect. */
  readonly env?: { [name: string]: string };
  /** When Docker reports the sandbox healthy. */
  readonly healthcheck?: HealthcheckArgs;
  /** Docker restart policy (default unless-stopped). */
  readonly restart?: RestartPolicy;
  /**
   * container (default): the engine's default runtime, the host's kernel behind the hardening; gvisor: gVisor's
   * runsc, a kernel of its own for the agent, on an engine that offers it (its proxies stay on the default
   * runtime: they need Docker's DNS, which gVisor cannot reach), allowlist egress only, memory at least 64m,
   * cpus at least 0.1 (gVisor serves each exec inside the limit).
   */
  readonly isolation?: Isolation;
  /** How the sandbox reaches the network: through an allowlist proxy (default), not at all, or openly. */
  readonly egress?: EgressArgs;
  /** Mount the Docker socket (root on the host); needs acknowledgeUnsafe: ["docker-socket"]. */
  readonly dockerSocket?: boolean;
  /** Privileged mode; needs acknowledgeUnsafe: ["privileged"]. */
  readonly privileged?: boolean;
  /** The host's network; needs egress mode open and acknowledgeUnsafe: ["host-network", "open-egress"]. */
  readonly hostNetwork?: boolean;
  /** The host's PID namespace; needs acknowledgeUnsafe: ["host-pid"]. */
  readonly hostPid?: boolean;
  /** The host's IPC namespace; needs acknowledgeUnsafe: ["host-ipc"]. */
  readonly hostIpc?: boolean;
  /** Capabilities added back after dropping all, e.g. ["NET_BIND_SERVICE"]; needs acknowledgeUnsafe: ["added-capabilities"]. */
  readonly capAdd?: string[];
  /** Run as root inside the sandbox; needs acknowledgeUnsafe: ["root-user"]. */
  readonly runAsRoot?: boolean;
  /**
   * In rw mode, mount the workspace's protected paths that exist (git hooks and config, .gitmodules,
   * .envrc, editor tasks and settings, .devcontainer, CI workflows, agent settings) read-only over it
   * (default true); false needs acknowledgeUnsafe: ["unprotected-workspace"].
   */
  readonly protectWorkspace?: boolean;
  /** More workspace paths to protect, relative to it, e.g. ["scripts/deploy.sh"]. */
  readonly protectedPaths?: string[];
  /** Default protected paths this sandbox leaves writable, e.g. [".vscode/settings.json"]. */
  readonly unprotect?: string[];
  /** Clone mode: untracked files of the host repository copied into the clone when it is made, e.g. [".env"]. */
  readonly cloneCopy?: string[];
  /**
   * The unsafe settings of this sandbox you accept, e.g. ["privileged"]; anything unsafe not named here is
   * refused. Names: the values of UnsafeSetting (docker-socket, privileged, host-network, host-pid,
   * host-ipc, host-userns, added-capabilities, root-user, host-root-mount, home-folder-mount,
   * unprotected-workspace, credentials-in-sandbox, open-egress).
   */
  readonly acknowledgeUnsafe?: string[];
}

/** A sandbox's resource limits; every one is enforced by the engine, none can be turned off. */
export interface ResourcesArgs {
  /** CPUs the sandbox may use, fractions allowed, at least 0.01. Unset: 4, or all of the host's when it has fewer. */
  readonly cpus?: number;
  /** Memory limit in Docker size syntax, at least "6m" (default "8g"). */
  readonly memory?: string;
  /** Swap on top of memory (default "0m": none, so a runaway agent is OOM-killed rather than thrashing the host). */
  readonly swap?: string;
  /** Most processes and threads alive at once inside the sandbox, at least 32 (default 1024): a fork bomb stops here. */
  readonly pids?: number;
  /** Open files per process (RLIMIT_NOFILE, soft = hard), at least 256 and at most the host's fs.nr_open (default 8192). */
  readonly openFiles?: number;
}

/** An extra bind mount from the Docker host. */
export interface MountArgs {
  /** Absolute folder or file on the Docker host. */
  readonly source: string;
  /** Absolute path inside the sandbox, not one of its own folders (/workspace, /home/agent, /tmp, /run/agent-secrets). */
  readonly target: string;
  /** Read-only unless set to false (default true). */
  readonly readOnly?: boolean;
}

/** The sandbox's healthcheck: its disks, its egress policy and the agent CLI. Durations like "15s", "500ms" or "1m". */
export interface HealthcheckArgs {
  /** Time between checks (default "15s"). */
  readonly interval?: string;
  /** How long one check may take (default "10s"). */
  readonly timeout?: string;
  /** Grace time after start (default "5s"). */
  readonly startPeriod?: string;
  /** Failed checks in a row before the sandbox is unhealthy, at least 1 (default 3). */
  readonly retries?: number;
  /** The sandbox turns unhealthy when /workspace or the home volume is fuller than this percent (default 95). */
  readonly maxDiskPercent?: number;
}

/** Thresholds past which a sandbox is due for refresh: its container is replaced, its home volume and workspace stay. */
export interface RefreshArgs {
  /** Oldest a sandbox's container may be, in minutes, hours or days, e.g. "72h" (the default), "3d", "90m". */
  readonly maxAge?: string;
  /** Fullest its /workspace disk may be, in percent, 1-100 (default 80); below the healthcheck's own limit (95) it warns before the sandbox turns unhealthy. */
  readonly maxDiskPercent?: number;
  /** Most of its memory limit it may use, in percent, 1-100 (default 90). */
  readonly maxMemoryPercent?: number;
}
