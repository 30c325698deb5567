/**
 * The one place that knows a container engine: its CLI and how a client reaches it, the name a container
 * reaches the engine's host by, the network options the sandboxes' networks use and where its API socket
 * lives. The rest of the code reads these fields and never spells an engine: another engine is another
 * `Engine` value here (and a way to choose it in engineClient), not an edit in every command.
 */
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { type DockerHostConfig, ENGINE_URL, type EngineKind } from "./config";

/**
 * How the engine gives a container its pids limit before the first process: `update` with the CLI between
 * create and start (what Docker records in HostConfig.PidsLimit); `prestart-hook` with the variable below in
 * the container's environment, written to its pids cgroup by a hook of the engine's host
 * (scripts/podman/pids-limit-hook), since Podman's Docker API cannot update a created container.
 */
export type PidsLimitMechanism = { readonly kind: "update" } | { readonly kind: "prestart-hook"; readonly variable: string };

export interface Engine {
  /** The `docker.engine` value that selects it. */
  readonly kind: EngineKind;
  /** What the engine's API answers as the first component of its version (`docker version`), to tell engines apart. */
  readonly versionComponent: string;
  /** The CLI every command runs, found on PATH: Docker's, also for Podman's Docker-compatible API. */
  readonly cli: string;
  /** Where a client looks when nothing names an engine: the local API socket. */
  readonly defaultHost: string;
  /** The name of the engine's host inside a container given this extra hosts entry, and the address the engine puts there. */
  readonly hostGateway: { readonly host: string; readonly ip: string };
  /**
   * The extra hosts entry naming the engine's host for a container that reaches it over `network`: the
   * engine's own placeholder (Docker's host-gateway), or, for an engine without one, that network's gateway.
   */
  hostGatewayEntry(networkGateway: () => pulumi.Input<string>): { host: string; ip: pulumi.Input<string> };
  /** The domain under which the engine names its host in other ways too (Docker Desktop's gateway.docker.internal). */
  readonly hostDomain: string;
  /** The driver of the networks the program makes. */
  readonly network: { readonly driver: string };
  /**
   * The options of a sandbox's internal network that keep the host from answering on it: Docker leaves the
   * host no address there; Podman cannot, so the network's bridge gets a name the host's firewall drops
   * (scripts/podman/setup.sh).
   */
  isolatedNetworkOptions(networkName: string): Record<string, string>;
  /** Network inputs the engine does not report back as given, which a refresh would take for drift: left as created. */
  readonly unreportedNetworkInputs: readonly string[];
  /**
   * The same for containers; an edit of one of them must still replace the container, so their values also
   * travel in a label (container-start.ts containerWithUnreportedInputs).
   */
  readonly unreportedContainerInputs: readonly string[];
  readonly pidsLimit: PidsLimitMechanism;
  /** Whether the CLI's `ps` lists containers newest first (Docker's does; Podman's API answers in no order). */
  readonly listsNewestFirst: boolean;
  /**
   * Whether the engine runs a container's health check on a schedule of its own; Podman does only under
   * systemd, so without it the program runs the check when it reports health (`healthCheckNow`).
   */
  readonly scheduledHealth: boolean;
  /** The command (its CLI first) that runs a container's health check once and records the result, for an engine without a schedule. */
  healthCheckNow(host: string, container: string): string[];
  /** The API socket: where the engine puts it (the first is what `dockerSocket` mounts) and its file names wherever it lives. */
  readonly sockets: { readonly paths: readonly string[]; readonly names: readonly string[] };
  /** The variables that point the CLI at `target`; none for the local engine. */
  clientEnvironment(target: DockerHostConfig | undefined): Record<string, string>;
  /** The engine those variables name in `env`, where the providers look when the stack names none. */
  environmentTarget(env: NodeJS.ProcessEnv): DockerHostConfig | undefined;
  /** The CLI's own flags that point it at `target`, for a command a person types. */
  hostFlags(target: { readonly host: string; readonly certPath?: string }): string[];
  /** The CLI's arguments that print an image's manifest from its registry (an index lists its platforms); `raw`: as JSON. */
  manifestArgs(ref: string, raw: boolean): string[];
  /** The CLI's arguments that connect stdin/stdout to the engine's API, however the client reaches it (ssh included). */
  readonly dialArgs: readonly string[];
  /** Whether `target` is reached over ssh, where the CLI runs the system's ssh (which needs the shell's ssh agent). */
  overSsh(target: DockerHostConfig | undefined): boolean;
}

/** The name every engine's containers use for its host: the one the config's upstreams, repositories and allowlists spell. */
const HOST_NAME = "host.docker.internal";

export const DOCKER: Engine = {
  kind: "docker",
  versionComponent: "Engine",
  cli: "docker",
  defaultHost: "unix:///var/run/docker.sock",
  hostGateway: { host: HOST_NAME, ip: "host-gateway" },
  hostGatewayEntry: () => DOCKER.hostGateway,
  hostDomain: "docker.internal",
  network: { driver: "bridge" },
  isolatedNetworkOptions: () => ({ "com.docker.network.bridge.inhibit_ipv4": "true" }),
  unreportedNetworkInputs: [],
  unreportedContainerInputs: [],
  pidsLimit: { kind: "update" },
  listsNewestFirst: true,
  scheduledHealth: true,
  healthCheckNow: () => {
    throw new Error("Docker runs health checks on its own schedule");
  },
  // Rootless engines and Docker Desktop (`.raw`) put the socket elsewhere; containerd's is root on the host too.
  sockets: { paths: ["/var/run/docker.sock", "/run/docker.sock"], names: ["docker.sock", "docker.sock.raw", "containerd.sock"] },
  clientEnvironment: (target) =>
    target?.host ? { DOCKER_HOST: target.host, ...(target.certPath ? { DOCKER_CERT_PATH: target.certPath, DOCKER_TLS_VERIFY: "1" } : {}) } : {},
  environmentTarget: ({ DOCKER_HOST: host, DOCKER_TLS_VERIFY: tls, DOCKER_CERT_PATH: certPath }) =>
    host && ENGINE_URL.test(host) ? { host, ...(tls && certPath ? { certPath } : {}) } : undefined,
  hostFlags: (target) => [
    "-H",
    target.host,
    ...(target.certPath
      ? ["--tlsverify", "--tlscacert", `${target.certPath}/ca.pem`, "--tlscert", `${target.certPath}/cert.pem`, "--tlskey", `${target.certPath}/key.pem`]
      : []),
  ],
  manifestArgs: (ref, raw) => ["buildx", "imagetools", "inspect", ...(raw ? ["--raw"] : []), ref],
  dialArgs: ["system", "dial-stdio"],
  overSsh: (target) => target?.host?.startsWith("ssh://") ?? false,
};

/** The prefix of the bridges of sandboxes' internal networks on Podman, which scripts/podman/setup.sh's firewall chain drops. */
export const PODMAN_ISOLATED_BRIDGE_PREFIX = "asbi";

/**
 * Rootful Podman through its Docker-compatible API (Debian 12's 4.3), driven by the same providers and
 * Docker CLI. What it lacks is closed by the host's setup (docs/engines-and-images.md, "Podman"): the pids
 * limit by a prestart hook, the host's address on internal networks by a firewall chain, the health schedule
 * by the program running the check itself.
 */
export const PODMAN: Engine = {
  ...DOCKER,
  kind: "podman",
  versionComponent: "Podman Engine",
  defaultHost: "unix:///run/podman/podman.sock",
  // Podman 4 has no host-gateway placeholder; its own host.containers.internal names the first network's gateway only.
  hostGateway: { host: HOST_NAME, ip: "" },
  hostGatewayEntry: (networkGateway) => ({ host: HOST_NAME, ip: networkGateway() }),
  hostDomain: "containers.internal",
  // A bridge name is at most 15 characters: the prefix and 11 hex digits of the network's name.
  isolatedNetworkOptions: (networkName) => ({
    "com.docker.network.bridge.name": `${PODMAN_ISOLATED_BRIDGE_PREFIX}${createHash("sha256").update(networkName).digest("hex").slice(0, 11)}`,
  }),
  // Podman reports its IPAM driver (host-local), which no input names, and turns the bridge name option into its own field.
  unreportedNetworkInputs: ["ipamOptions", "options"],
  // Podman 4.3's inspect spells these its own way: CPUs for the quota the program sets, its own tmpfs list, no
  // log options, mounts only as binds, "no-new-privileges" without ":true", "shareable" for a private IPC
  // namespace, and the process limit among the ulimits. (It also names each dropped capability for ALL; that
  // one stays compared, since the policy pack must see ALL: docs/engines-and-images.md, "Podman".)
  unreportedContainerInputs: ["cpus", "ipcMode", "logOpts", "mounts", "securityOpts", "tmpfs", "ulimits"],
  sockets: { paths: ["/run/podman/podman.sock"], names: ["podman.sock"] },
  pidsLimit: { kind: "prestart-hook", variable: "AGENT_SANDBOX_PIDS_LIMIT" },
  listsNewestFirst: false,
  scheduledHealth: false,
  healthCheckNow: (host, container) => ["podman", "--url", host, "healthcheck", "run", container],
};

/** Every engine the program knows: a socket of any of them is refused as a bind, whichever one a stack runs on. */
export const KNOWN_ENGINES: readonly Engine[] = [DOCKER, PODMAN];

/** The engine a `docker.engine` value selects (Docker for none; an unknown value is the schema's to report). */
export function engineOfKind(kind: string | undefined): Engine {
  return KNOWN_ENGINES.find((engine) => engine.kind === (kind ?? "docker")) ?? DOCKER;
}
