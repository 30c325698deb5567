/** The engine section of the component's arguments (`docker`), documented. */
/** The engine the stack targets, when not the local Docker socket. */
export interface DockerHostArgs {
  /**
   * docker (default) or podman: rootful Podman through its Docker-compatible API, on a host prepared by
   * scripts/setup-engine.sh --podman (docs/engines-and-images.md). Sandboxes under gVisor need docker.
   */
  readonly engine?: string;
  /**
   * ssh://user@host, tcp://host:2376 (with certPath) or unix:///path/to/docker.sock. Unset: for docker,
   * DOCKER_HOST or the local socket; for podman, unix:///run/podman/podman.sock.
   */
  readonly host?: string;
  /** Client certificates for tcp://, as files (`docker context` layout). */
  readonly certPath?: string;
}
