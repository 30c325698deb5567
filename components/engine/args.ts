/** The engine section of the component's arguments (`docker`), documented. */
/** A Docker engine other than the local socket. */
export interface DockerHostArgs {
  /** ssh://user@host, tcp://host:2376 (with certPath) or unix:///path/to/docker.sock. */
  readonly host: string;
  /** Client certificates for tcp://, as files (`docker context` layout). */
  readonly certPath?: string;
}
