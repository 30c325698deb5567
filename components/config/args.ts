/**
 * The arguments of the AgentSandboxes component: the stack config's shape as plain interfaces, with the
 * secrets as `pulumi.Input`s. They are the documented API (a TypeScript program passes them, Pulumi's
 * component analyzer turns them into the package schema for other languages), and sections.ts validates
 * them. Besides the secrets, only a run's prompt and triggers may be outputs of other resources: they
 * flow into that run alone. Everything else decides which resources are declared and is checked before
 * any of them is, so it is a plain value.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { AgentAuth, BuildCacheType, EgressMode, RestartPolicy, SandboxMode } from "./choices";

/** Hardened Docker sandboxes for AI coding agents, the agent image they run, and agent runs in them. */
export interface AgentSandboxesArgs {
  /** Shortcut for one sandbox named "main" on this folder (absolute path on the Docker host). Set this or `sandboxes`. */
  readonly workspace?: string;
  /** The sandboxes, each a hardened container on its own network. Set this or `workspace`. */
  readonly sandboxes?: SandboxArgs[];
  /** The agent image every sandbox runs. */
  readonly image?: ImageArgs;
  /** Agent runs: one non-interactive agent invocation each, its result a stack output. */
  readonly runs?: RunArgs[];
  /** The Docker engine to use; unset: the local socket. */
  readonly docker?: DockerHostArgs;
  /** When `npm run status` reports a sandbox as due for `npm run refresh` (a new container; home volume and workspace kept). */
  readonly refresh?: RefreshArgs;
  /** Anthropic API key: only the sandboxes' credential proxies read it (auth proxy), never the sandbox, its config or an image. */
  readonly anthropicApiKey?: pulumi.Input<string>;
  /** Token for git over HTTPS: the credential proxy adds it to the egress.gitRepos requests (with acknowledged credentials-in-sandbox, the image's credential helper reads it for gitHosts). */
  readonly gitToken?: pulumi.Input<string>;
  /** Password of `image.registry.username`. */
  readonly registryPassword?: pulumi.Input<string>;
}

/** One sandbox. */
export interface SandboxArgs {
  /** Lowercase letters, digits and dashes, starting with a letter (e.g. "main"); names its container, network and volumes. */
  readonly name: string;
  /** The developer's code folder on the Docker host (absolute), mounted at /workspace; in clone mode the git repository cloned there. */
  readonly workspace: string;
  /**
   * rw (default) lets the agent edit your code, its protected paths read-only; ro makes the workspace
   * read-only (reviews, questions); clone gives the agent its own clone of the repository in a volume,
   * and the host repository changes only when you run the sandbox's `bringBack` output.
   */
  readonly mode?: SandboxMode;
  /** The agent CLI the sandbox runs: "claude" (the default, and today the only one). */
  readonly agent?: string;
  /**
   * How the agent authenticates to its API. proxy (default): the sandbox's credential proxy adds the
   * stack's anthropicApiKey outside the sandbox, which holds only a placeholder, and sign-in endpoints are
   * refused. subscription: the agent's own login (OAuth), kept in the home volume; weaker, because the
   * sandbox then holds the login's token.
   */
  readonly auth?: AgentAuth;
  /** Where the credential proxy sends the agent's API requests, over TLS (default the agent's own API); a company gateway may add a path prefix, e.g. "https://llm-gateway.example.com/anthropic". */
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

/** How a sandbox reaches the network. */
export interface EgressArgs {
  /** allowlist (default): only through the egress proxy, to allowed names; none: no network; open: an ordinary bridge (needs acknowledgeUnsafe: ["open-egress"]). */
  readonly mode?: EgressMode;
  /** Names (and ports) allowed on top of the defaults, e.g. ["registry.example.com", "*.github.com:443"]. */
  readonly allow?: string[];
  /** Start from the default allowlist: the agent's API and sign-in, and the git hosts (default true). */
  readonly includeDefaults?: boolean;
  /**
   * Hosts of your git remotes, reached over HTTPS by CONNECT; part of the defaults (default ["github.com"]
   * unless gitRepos is set). The weaker choice: the agent reaches every repository on them, and a gitToken
   * has to be inside the sandbox (acknowledgeUnsafe: ["credentials-in-sandbox"]). Not together with gitRepos.
   */
  readonly gitHosts?: string[];
  /**
   * The repositories the agent may fetch and push, e.g. ["github.com/my-org/my-repo"]: git over HTTPS goes
   * to the credential proxy, which forwards these alone and adds the stack's gitToken there; any other
   * repository is refused, and no git host is reachable by CONNECT.
   */
  readonly gitRepos?: string[];
  /** Ports of the Docker host the sandbox may reach, as http(s)://host.docker.internal:<port>. */
  readonly hostPorts?: number[];
  /** What the healthcheck probes through the proxy to prove the policy. */
  readonly healthProbe?: HealthProbeArgs;
}

/** The URLs the sandbox's healthcheck fetches through its egress proxy. */
export interface HealthProbeArgs {
  /** Must answer (default: the agent's API when the defaults are on; unset skips this half). */
  readonly allowed?: string;
  /** Must be refused (default "http://egress-denied-probe.invalid/"). */
  readonly denied?: string;
}

/** The agent image, built from the package's docker/agent. */
export interface ImageArgs {
  /** Runtime base of the image (default "debian:bookworm-slim"). */
  readonly baseImage?: string;
  /** Build stage base; it needs npm to fetch the agent CLI (default "node:22-bookworm-slim"). */
  readonly builderImage?: string;
  /** Exact agent CLI release, so every developer runs the same agent (default: the release this package was tested with). */
  readonly agentVersion?: string;
  /** Debian packages added to the image, e.g. ["python3", "nodejs"]. */
  readonly toolchains?: string[];
  /** UID of the agent user, not 0: match your host user so files the agent writes stay yours (default 1000). */
  readonly agentUid?: number;
  /** GID of the agent user, not 0 (default 1000). */
  readonly agentGid?: number;
  /** "linux/amd64" and/or "linux/arm64" (values of Platform). Empty: the engine's own platform. Two: a multi-arch image, pushed to `registry`. */
  readonly platforms?: string[];
  /** Where the image is pushed. */
  readonly registry?: RegistryArgs;
  /** Push to `registry` (always on for multi-arch builds). */
  readonly push?: boolean;
  /** Build cache. */
  readonly cache?: BuildCacheArgs;
  /** A PEM bundle of extra CA certificates (e.g. a corporate TLS proxy) on this machine, passed to the build as a secret. */
  readonly extraCaCertsFile?: string;
}

/** An image registry. */
export interface RegistryArgs {
  /** Registry host (and port), e.g. "ghcr.io" or "127.0.0.1:5000". */
  readonly address: string;
  /** Repository path under the registry (default "agent-sandbox/agent"). */
  readonly repository?: string;
  /** User for the registry; the password is `registryPassword`. */
  readonly username?: string;
}

/** Where the image build keeps its cache: `dir` for type local, `ref` for type registry. */
export interface BuildCacheArgs {
  /** local (a folder, `dir`) or registry (a reference, `ref`). */
  readonly type: BuildCacheType;
  /** Absolute folder of a local cache. */
  readonly dir?: string;
  /** Registry reference of a registry cache, e.g. "ghcr.io/my-team/agent-sandbox:cache". */
  readonly ref?: string;
}

/** One non-interactive agent run in a sandbox. */
export interface RunArgs {
  /** Names the run's stack output; same rules as a sandbox name. */
  readonly name: string;
  /** The sandbox to run in. */
  readonly sandbox: string;
  /** Sent to the agent verbatim on stdin: quotes, `$(...)` and newlines arrive as written and run nothing. May come from another resource. */
  readonly prompt: pulumi.Input<string>;
  /** Most agent turns, at least 1 (default 20). */
  readonly maxTurns?: number;
  /** Model to use; unset: the agent's default. */
  readonly model?: string;
  /** Tools the agent may use without asking, in the agent's syntax, e.g. ["Read", "Edit", "Bash(npm test)"]. */
  readonly allowedTools?: string[];
  /** Values that, when changed, re-run the agent (e.g. a git commit, also another resource's output). */
  readonly triggers?: pulumi.Input<string>[];
  /**
   * Run in a fresh container made for this run from the sandbox's own container spec (image, user,
   * hardening, limits, mounts, network, egress proxy) and removed when the run ends, succeeded, failed or
   * interrupted; the sandbox's home volume is mounted as in the sandbox (default false: `docker exec` in the sandbox).
   */
  readonly ephemeral?: boolean;
  /** With ephemeral: how many of this run's finished containers to keep, stopped, for inspection; older ones are removed first (default 0). */
  readonly keepFinished?: number;
  /** Another run of the same sandbox whose agent session this run continues; it runs after that run, and again whenever that run re-ran. */
  readonly resume?: string;
  /** With resume: start a new session from the resumed one's history instead of continuing it (default false). */
  readonly fork?: boolean;
}

/** A Docker engine other than the local socket. */
export interface DockerHostArgs {
  /** ssh://user@host, tcp://host:2376 (with certPath) or unix:///path/to/docker.sock. */
  readonly host: string;
  /** Client certificates for tcp://, as files (`docker context` layout). */
  readonly certPath?: string;
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
