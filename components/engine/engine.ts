/**
 * The one place that knows a container engine: its CLI and how a client reaches it, the name a container
 * reaches the engine's host by, the network options the sandboxes' networks use and where its API socket
 * lives. The rest of the code reads these fields and never spells an engine: another engine is another
 * `Engine` value here (and a way to choose it in engineClient), not an edit in every command.
 */
import { type DockerHostConfig, ENGINE_URL } from "./config";

export interface Engine {
  /** The CLI every command runs, found on PATH. */
  readonly cli: string;
  /** Where a client looks when nothing names an engine: the local API socket. */
  readonly defaultHost: string;
  /** The name of the engine's host inside a container given this extra hosts entry, and the address the engine puts there. */
  readonly hostGateway: { readonly host: string; readonly ip: string };
  /** The domain under which the engine names its host in other ways too (Docker Desktop's gateway.docker.internal). */
  readonly hostDomain: string;
  /** The driver of the networks the program makes, and its option that leaves the host without an address on one. */
  readonly network: { readonly driver: string; readonly noHostAddressOption: string };
  /** The API socket: where the engine puts it (the first is what `dockerSocket` mounts) and its file names wherever it lives. */
  readonly sockets: { readonly paths: readonly string[]; readonly names: readonly string[] };
  /** The variables that point the CLI at `target`; none for the local engine. */
  clientEnvironment(target: DockerHostConfig | undefined): Record<string, string>;
  /** The engine those variables name in `env`, where the providers look when the stack names none. */
  environmentTarget(env: NodeJS.ProcessEnv): DockerHostConfig | undefined;
  /** The CLI's own flags that point it at `target`, for a command a person types. */
  hostFlags(target: DockerHostConfig): string[];
  /** The CLI's arguments that print an image's manifest from its registry (an index lists its platforms); `raw`: as JSON. */
  manifestArgs(ref: string, raw: boolean): string[];
  /** The CLI's arguments that connect stdin/stdout to the engine's API, however the client reaches it (ssh included). */
  readonly dialArgs: readonly string[];
  /** Whether `target` is reached over ssh, where the CLI runs the system's ssh (which needs the shell's ssh agent). */
  overSsh(target: DockerHostConfig | undefined): boolean;
}

export const DOCKER: Engine = {
  cli: "docker",
  defaultHost: "unix:///var/run/docker.sock",
  hostGateway: { host: "host.docker.internal", ip: "host-gateway" },
  hostDomain: "docker.internal",
  network: { driver: "bridge", noHostAddressOption: "com.docker.network.bridge.inhibit_ipv4" },
  // Rootless engines and Docker Desktop (`.raw`) put the socket elsewhere; containerd's is root on the host too.
  sockets: { paths: ["/var/run/docker.sock", "/run/docker.sock"], names: ["docker.sock", "docker.sock.raw", "containerd.sock"] },
  clientEnvironment: (target) =>
    target ? { DOCKER_HOST: target.host, ...(target.certPath ? { DOCKER_CERT_PATH: target.certPath, DOCKER_TLS_VERIFY: "1" } : {}) } : {},
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
  overSsh: (target) => target?.host.startsWith("ssh://") ?? false,
};

/** Every engine the program knows: a socket of any of them is refused as a bind, whichever one a stack runs on. */
export const KNOWN_ENGINES: readonly Engine[] = [DOCKER];
