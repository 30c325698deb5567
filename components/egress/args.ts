/** The egress section of a sandbox's arguments (`sandboxes[i].egress`), documented: what each key means and its default. */
import type { EgressMode } from "./config";

/** How a sandbox reaches the network. */
export interface EgressArgs {
  /** allowlist (default): only through the egress proxy, to allowed names; none: no network; open: an ordinary bridge (needs acknowledgeUnsafe: ["open-egress"]). */
  readonly mode?: EgressMode;
  /** Names (and ports) allowed on top of the defaults, e.g. ["registry.example.com", "*.github.com:443"]. */
  readonly allow?: string[];
  /** Start from the default allowlist: the git hosts, and under auth subscription the agent's API and sign-in (default true). */
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
  /** Must answer (default: the agent's API under auth subscription with the defaults on; unset there skips this half). */
  readonly allowed?: string;
  /** Must be refused (default "http://egress-denied-probe.invalid/"). */
  readonly denied?: string;
}
